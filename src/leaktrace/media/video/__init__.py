"""Videos: every recipient's copy of a video carries the keyed pattern in every frame, and a
leaked clip, a screen or phone recording, or one frame posted as a picture is traced back to it.

Importing this package loads no video library; its modules do, on first use.

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
``marking``      the registered asset and each recipient's copy (:class:`VideoMedium.prepare`)
``identify``     a leaked clip or frame as evidence for the pipeline (:class:`VideoMedium.read`)
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

from pathlib import Path

from leaktrace.media.signatures import looks_like_video

__all__ = ["VIDEO_SUFFIXES", "VideoMedium", "looks_like_video"]

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm"})


def _frame_as_picture(session, path, leak_rgb, leak_luma):
    from leaktrace.media.video.identify import read_frame_picture

    return read_frame_picture(session, path, leak_rgb, leak_luma)


class VideoMedium:
    """The video medium. A picture of a frame is read by the image medium, which asks
    :attr:`stills` when no registered picture explains it."""

    name = "video"
    mark_suffixes = VIDEO_SUFFIXES
    leak_suffixes = VIDEO_SUFFIXES
    stills = (_frame_as_picture,)

    def claims(self, path: Path, data: bytes) -> bool:
        # By content, and by name too: a picture called .mp4 is refused as a video that lies
        # about its extension rather than marked as an image under a video's name.
        return looks_like_video(data) or path.suffix.lower() in VIDEO_SUFFIXES

    def read(self, session, path: Path, data: bytes):
        from leaktrace.media.video.identify import read_video

        return read_video(session, path, data)

    def prepare(self, registry, path: Path, data: bytes, password: str | None = None):
        from leaktrace.media.video.marking import prepare_video

        return prepare_video(registry, path, data)

    def match_pictures(self, registry, result, path: Path, data: bytes):
        """(leak frame, original frame, homography) for the report, when the leak was matched
        to a registered video; None otherwise."""
        from leaktrace.media.video.identify import match_pictures

        return match_pictures(registry, result, path, data)

    def picture(self, path: Path, data: bytes):
        """The leak's middle frame, as the report shows it (RGB)."""
        from leaktrace.media.video.identify import middle_frame_rgb

        return middle_frame_rgb(path)
