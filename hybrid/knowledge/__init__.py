"""Knowledge layer: load, chunk, embed, index, sync and search documents."""
