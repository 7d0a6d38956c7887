from django import template

from server.submissions.plot import chart_table, curve_chart

register = template.Library()


@register.inclusion_tag("submissions/curve.html")
def learning_curve(report, threshold=None):
    return {"chart": curve_chart(report.get("curves", []), threshold=threshold)}


@register.inclusion_tag("submissions/chart_table.html")
def chart_numbers(chart, caption: str):
    """The numbers a chart draws, as a table (its text alternative), folded under a summary."""
    return {"table": chart_table(chart) if chart else None, "caption": caption}
