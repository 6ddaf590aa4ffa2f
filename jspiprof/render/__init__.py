"""What a person reads: the terminal summary and tables, the plotly figures and the self-contained HTML report."""
