"""Writing the pack: the PDF for the arbitrator, the worksheet for the agent, page images,
and verifying a pack against its manifest."""
