"""PDF lead briefs, brief packs and bulletins: requested on the web, rendered by RQ workers."""
