"""Judging a case: what messages say, the checklist verdicts, deadlines, the seller's claims,
and the measurements of that judgement on the labelled corpus."""
