"""Brand monitoring: KPIs corrected for the model's error, the executive summary and report,
alerts, topics and the post explorer's queries."""
