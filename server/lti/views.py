"""/lti/login/ (OIDC login initiation), /lti/launch/ (the redirect URI) and /lti/jwks/ (Bellman's public keys)."""
import secrets
import urllib.parse

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from server.courses.access import assignment_for
from server.courses.models import Course, Enrolment
from server.lti import deep_linking, embedding, grades, keys, registration, roster, services, storage
from server.lti.launch import CLAIM, STATE_COOKIE, STATE_MAX_AGE_S, Launch, LaunchRefused, state_cookie, url_allowed
from server.lti.models import LineItem, Platform

RESOURCE_LINK, DEEP_LINKING = "LtiResourceLinkRequest", "LtiDeepLinkingRequest"
SUPPORTED = {RESOURCE_LINK, DEEP_LINKING}
DEEP_LINK_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


def refused(request, exc: LaunchRefused):
    return render(request, "lti/refused.html", {"message": str(exc)}, status=exc.status)


@csrf_exempt  # the platform posts here from its own origin; the state and nonce protect the flow
@never_cache
@require_http_methods(["GET", "POST"])
def login_initiation(request):
    """Third-party login initiation: the platform names itself (iss, client_id) and the user (login_hint);
    Bellman sends the browser to the platform's authorisation endpoint with a fresh state and nonce, the state
    kept in a signed cookie of this browser's."""
    params = request.POST if request.method == "POST" else request.GET
    iss, client_id = params.get("iss", ""), params.get("client_id", "")
    login_hint, target = params.get("login_hint", ""), params.get("target_link_uri", "")
    try:
        if not iss or not login_hint:
            raise LaunchRefused("The login request must name the platform (iss) and the user (login_hint).")
        platforms = Platform.objects.filter(issuer=iss, approved=True)
        if client_id:
            platforms = platforms.filter(client_id=client_id)
        found = list(platforms[:2])
        if not found:
            raise LaunchRefused(f"No approved platform with the issuer {iss!r} is registered with Bellman: a Bellman "
                                "administrator registers it (docs/lti.md).")
        if len(found) > 1:
            raise LaunchRefused("Several registrations share this issuer: the login request must name its client_id.")
        platform = found[0]
        launch_url = request.build_absolute_uri(reverse("lti_launch"))
        if target and urllib.parse.urlsplit(target).netloc != urllib.parse.urlsplit(launch_url).netloc:
            raise LaunchRefused("The target link URI is not Bellman's.")
        if not url_allowed(platform.auth_login_url):
            raise LaunchRefused("The platform's authorisation URL must be HTTPS.")
    except LaunchRefused as exc:
        return refused(request, exc)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    query = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
             "client_id": platform.client_id, "redirect_uri": launch_url, "login_hint": login_hint,
             "state": state, "nonce": nonce}
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    auth_url = platform.auth_login_url + separator + urllib.parse.urlencode(query)
    blob = state_cookie(state, nonce, platform)
    response = storage.login_page(request, params, platform, state, blob, auth_url)
    # The launch is a cross-site POST (from the LMS, often inside its iframe): the cookie must be sent with it.
    response.set_cookie(STATE_COOKIE, blob, max_age=STATE_MAX_AGE_S, httponly=True,
                        secure=request.is_secure(), samesite="None" if request.is_secure() else "Lax")
    if request.is_secure():  # inside the LMS's iframe too: a partitioned cookie is one a browser keeps there
        dict.__setitem__(response.cookies, STATE_COOKIE, embedding.partitioned(response.cookies[STATE_COOKIE]))
    return response


@csrf_exempt  # a cross-site form post by design: the signed id_token, the state and the nonce protect it
@never_cache
@require_POST
def launch(request):
    """The redirect URI: a resource link launch signs the user in and opens the course (or the assignment that
    the LMS link names)."""
    waiting = storage.launch_page(request)  # no state cookie: first the state from the LMS's storage frame
    if waiting is not None:
        return waiting
    try:
        checked = Launch(request).check()
        body = checked.body
        message = body.get(CLAIM + "message_type")
        if message not in SUPPORTED:
            raise LaunchRefused(f"Bellman does not handle {message!r} launches yet.")
        role = services.role_of(body.get(CLAIM + "roles") or [])
        if role is None:
            raise LaunchRefused("Your role in this LMS course (neither instructor nor learner) gives no access to "
                                "Bellman.", status=403)
        assert checked.platform is not None
        user = services.account(checked.platform, body)
        course = services.course_for(checked.platform, body, role)
        if message == DEEP_LINKING and role != Enrolment.INSTRUCTOR:
            raise LaunchRefused("Only the course's instructors add Bellman's assignments to the LMS.", status=403)
        link_settings = body.get(DEEP_LINK_SETTINGS)
        if message == DEEP_LINKING and not (isinstance(link_settings, dict)
                                            and isinstance(link_settings.get("deep_link_return_url"), str)):
            raise LaunchRefused("The deep-linking launch carries no deep_linking_settings with a "
                                "deep_link_return_url: the LMS must say where the chosen assignments go back to.")
        services.enrol(course, user, role, preview=services.is_test_user(body.get(CLAIM + "roles") or []))
        grades.on_launch(checked.platform, body, course, role)
        roster.on_launch(checked.platform, body, role)
    except LaunchRefused as exc:
        return refused(request, exc)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    embedding.remember_origin(request)
    if message == DEEP_LINKING:
        key = secrets.token_urlsafe(12)
        request.session[f"lti_deep_link:{key}"] = {
            "platform": checked.platform.pk, "course": course.pk, "settings": link_settings,
            "deployment_id": body.get(CLAIM + "deployment_id")}
        response = HttpResponseRedirect(reverse("lti_deep_link", args=[key]))
    else:
        response = HttpResponseRedirect(services.landing(course, body))
    response.delete_cookie(STATE_COOKIE)
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def deep_link(request, key):
    """The assignment picker of a deep-linking launch: the instructor chooses the course's assignments to add to
    the LMS; the answer goes back to the LMS as a signed LtiDeepLinkingResponse (each item a link that opens the
    assignment, with its gradebook column)."""
    pending = request.session.get(f"lti_deep_link:{key}")
    if pending is None:
        return refused(request, LaunchRefused("This choice of assignments has expired: add Bellman again from the "
                                              "LMS.", status=404))
    course = get_object_or_404(Course, pk=pending["course"])
    if course.role_of(request.user) != Enrolment.INSTRUCTOR:
        raise PermissionDenied("Only the course's instructors add Bellman's assignments to the LMS.")
    settings_claim = pending["settings"]
    many = str(settings_claim.get("accept_multiple", "true")).lower() != "false"
    assignments = list(course.assignments.order_by("due_at", "slug"))
    if request.method == "GET":
        return render(request, "lti/deep_link.html", {"course": course, "assignments": assignments, "many": many})
    chosen = [a for a in assignments if a.slug in request.POST.getlist("assignment")][: None if many else 1]
    platform = get_object_or_404(Platform, pk=pending["platform"])
    token = deep_linking.response_jwt(request, platform, pending["deployment_id"], settings_claim, chosen)
    del request.session[f"lti_deep_link:{key}"]
    return_url = str(settings_claim.get("deep_link_return_url") or "")
    if not url_allowed(return_url):
        return refused(request, LaunchRefused("The LMS's deep-linking return URL is not HTTPS."))
    response = render(request, "lti/deep_link_return.html", {"return_url": return_url, "jwt": token,
                                                               "chosen": chosen})
    parts = urllib.parse.urlsplit(return_url)
    response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}  # django-csp: this page posts there
    return response


@require_GET
def jwks(request):
    """Bellman's published public keys, for platforms to check what it signs (grade passback, deep links)."""
    return JsonResponse(keys.jwks())


@require_POST
def lms_grades(request, course_slug, slug):
    """The instructor's actions on the assignment's LMS gradebook columns: send now (held and failed grades), and
    when grades are sent."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    assignment, role = assignment_for(request, course_slug, slug)
    if role != Enrolment.INSTRUCTOR:
        raise PermissionDenied("Only the course's instructors send grades to the LMS.")
    line_item_id = request.POST.get("line_item", "")
    if not line_item_id.isdigit():
        raise Http404("No such gradebook column.")
    line_item = get_object_or_404(LineItem, pk=int(line_item_id), assignment=assignment)
    if request.POST.get("action") == "send":
        count = grades.send_now(line_item)
        messages.success(request, f"{count} grade{'s' if count != 1 else ''} on their way to the LMS.")
    elif request.POST.get("policy") in dict(LineItem.POLICIES):
        line_item.policy = request.POST["policy"]
        line_item.save(update_fields=["policy"])
        grades.reconcile_line_item(line_item)
        messages.success(request, f"Grades are now sent: {line_item.get_policy_display().lower()}.")
    return redirect("dashboard", course_slug, slug)


@csrf_exempt  # the LMS's administrator arrives here from the LMS; nothing is approved without Bellman's staff
@never_cache
@require_GET
def register(request):
    """LTI Dynamic Registration, opened by the LMS in a window: Bellman registers itself there; the platform waits
    for a Bellman administrator's approval."""
    try:
        platform = registration.register(request, request.GET.get("openid_configuration", ""),
                                         request.GET.get("registration_token", ""))
    except LaunchRefused as exc:
        return refused(request, exc)
    return render(request, "lti/registered.html", {"platform": platform})


@require_GET
def canvas_json(request):
    """Canvas's developer-key configuration of Bellman."""
    return JsonResponse(registration.canvas_configuration(request))
