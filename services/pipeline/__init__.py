"""The pipeline service: insurance lines, stage definitions, deals and their stage history."""
