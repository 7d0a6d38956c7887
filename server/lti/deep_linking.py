"""The answer to a deep-linking launch: Bellman's assignments as LTI resource links, each with its gradebook
column (label, maximum, resource id naming the assignment, due date), signed by Bellman's key (PyLTI1p3's
DeepLink)."""
from django.urls import reverse
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem as LtiLineItem

from server.lti import launch
from server.lti.models import Platform


class Resource(DeepLinkResource):
    """PyLTI1p3's resource link, with the due date where LTI Deep Linking 2.0 puts it: ``submission.endDateTime``
    (the library drops the line item's dates)."""

    due: str | None = None

    def to_dict(self):
        data = super().to_dict()
        if self.due:
            data["submission"] = {"endDateTime": self.due}
        return data


def response_jwt(request, platform: Platform, deployment_id: str, settings_claim: dict, assignments) -> str:
    launch_url = request.build_absolute_uri(reverse("lti_launch"))
    resources = []
    for assignment in assignments:
        folder = assignment.folder()
        line_item = (LtiLineItem().set_label(assignment.title).set_resource_id(assignment.slug)
                     .set_score_maximum(folder.max_score if folder else 100.0))
        resource = Resource()
        resource.set_url(launch_url).set_title(assignment.title).set_custom_params({"assignment": assignment.slug})
        resource.set_lineitem(line_item)
        resource.due = assignment.due_at.isoformat() if assignment.due_at else None
        resources.append(resource)
    return DeepLink(launch.registration(platform), deployment_id, settings_claim).get_response_jwt(resources)
