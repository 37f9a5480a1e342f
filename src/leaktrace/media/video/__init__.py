"""Videos (phase 1): the core algorithms and I/O, not yet wired into the CLI or the registry.

Modules, in the order a video passes through them:

``probe``        what a file holds (container, codec, timing, rotation, colour, other streams),
                 the documented limits, and one clear :class:`~leaktrace.errors.InputError` for
                 files that cannot be used
``io``           PyAV frame I/O: decoded frames in a temporary-file store, copies that keep the
                 source's container, codec, timestamps and metadata, audio/subtitles remuxed
``schedule``     which keyed pattern each frame carries: segments, cross-fades, cuts;
                 :class:`~leaktrace.media.video.schedule.VideoKeying`
``fingerprint``  per-frame thumbnails and hashes, key-frame features: what identification needs
``analysis``     one decode of the source: masks (temporally smoothed), gains, fingerprint
``mark``         :class:`~leaktrace.media.video.mark.VideoMarker`: one encode per recipient
``align``        which original frame each leak frame shows (trims, speed, frame rate, stutter)
``detect``       per-frame registration and residual projection, summed, then attribution
(leak simulations for videos live in ``leaktrace.simulate.video``)
``scenes``       synthetic footage with camera motion, built from still pictures

The engine is used only through public names: ``leaktrace.engine.watermark.pattern`` (``AssetKeying``,
``Layout``, ``layout_for``, ``synthesize``), ``leaktrace.engine.watermark.embed`` (``dither_threshold``,
``PEAK_SIGMAS``), ``leaktrace.engine.watermark.mask`` (``perceptual_mask``, ``luminance``),
``leaktrace.engine.watermark.detect`` (``attribute`` and its defaults), ``leaktrace.engine.match.registration``
(``register``, ``compute_features``, ``match_features``, ``LazyFeatures``, ``Features``,
``Registration``), ``leaktrace.engine.match.residual`` (``prepare``), ``leaktrace.engine.match.hashing``
(``perceptual_hashes``, ``popcount64``), ``leaktrace.fsutil.atomic_output``, and for the leak
simulations and single-frame leaks ``leaktrace.simulate`` and ``leaktrace.media.image.files``.
"""
