"""Many cases at once: batch builds from a refund export, and the lead's audit."""
