"""Write-audit-publish: batches wait on an audit branch until their checks pass; bad rows go to
a quarantine table beside the source, from which they can be replayed after a fix."""
