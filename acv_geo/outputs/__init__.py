"""What a run writes.

What a run writes: writers (tables with their metadata sidecar, atomic), maps (PNG and SVG), report
(the HTML report). Sits on core; reads results, computes no indicator.
"""
