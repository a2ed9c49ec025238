"""What users read: reference pages (refs), explain, the agent skill, the support report."""
