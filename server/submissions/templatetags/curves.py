from django import template

from server.submissions.plot import curve_chart

register = template.Library()


@register.inclusion_tag("submissions/curve.html")
def learning_curve(report, threshold=None):
    return {"chart": curve_chart(report.get("curves", []), threshold=threshold)}
