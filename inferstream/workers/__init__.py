"""Stage workers, in flow order: enrich -> infer -> sink, on the shared runtime."""
