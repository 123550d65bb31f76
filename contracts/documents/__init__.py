"""Documents: the contract rendered for people (Markdown, HTML, PDF) and the settlement workbook."""
