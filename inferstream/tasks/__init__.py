"""Task plug-ins: one package per task, found through the ``inferstream.tasks`` entry points."""
