//! Markdown and CSV report, PNG plots.
