from django import template

from server.submissions.plot import curve_paths

register = template.Library()


@register.inclusion_tag("submissions/curve.html")
def learning_curve(report, threshold=None):
    return {"plot": curve_paths(report.get("curves", []), threshold=threshold)}
