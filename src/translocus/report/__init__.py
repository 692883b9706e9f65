"""Report layer: self-contained HTML reports assembled from engine results."""
