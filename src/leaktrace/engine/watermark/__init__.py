"""The watermark engine: keyed patterns, perceptual mask, embedding and the detection statistic.

Pure numpy by design: no file, image or database library is imported here, so the algorithms can
be tested on arrays and reused by every front end.
"""
