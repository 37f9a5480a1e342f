"""Writing a recipient's mark into every frame of a video.

Frame ``t`` of recipient ``r`` gets, on its luma plane only (chroma untouched, so hue and
saturation never move),

    delta_t = gain_t * mask_t * sum_s w_s(t) * clip(field_s(code_r), +-1.5)

where ``field_s`` is segment ``s``'s keyed pattern (the image engine's multi-scale grid of ±1
cells, :func:`leaktrace.engine.watermark.pattern.synthesize`) with the recipient's code, ``w_s`` the
schedule's constant-power cross-fade weights and ``mask_t`` the temporally smoothed perceptual
mask. ``delta_t`` is rounded to whole luma steps with the engine's fixed 8×8 ordered dither
(:func:`leaktrace.engine.watermark.embed.dither_threshold`): a dither that stays put from frame to frame
adds no temporal noise, where a random one would shimmer.

The fields are computed once per segment and recipient (a segment lasts seconds), so the cost per
frame is a few OpenCV array operations next to the encoder's work.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import cv2
import numpy as np

from leaktrace.engine.watermark.embed import PEAK_SIGMAS, dither_threshold
from leaktrace.engine.watermark.pattern import synthesize
from leaktrace.media.video.analysis import MASK_STEPS, VideoAnalysis
from leaktrace.media.video.io import EncodeSettings, FrameTiming, stored_from_display, write_copy


class VideoMarker:
    """Marks one analysed video for any number of recipients.

    Parameters
    ----------
    analysis : VideoAnalysis
        The source, decoded and analysed once (:func:`~leaktrace.media.video.analysis.analyse_video`).
    key : bytes
        The registry's secret key.
    """

    def __init__(self, analysis: VideoAnalysis, key: bytes) -> None:
        self.analysis = analysis
        self.keying = analysis.keying(key)
        height, width = analysis.info.height, analysis.info.width
        # floor(x + t) == round(x + t - 1/2): OpenCV's saturating casts round to nearest.
        self._threshold = dither_threshold(height, width) - np.float32(0.5)
        self._neg_threshold = -self._threshold

    def segment_field(self, segment: int, code: np.ndarray) -> np.ndarray:
        """Segment ``segment``'s clipped pattern for ``code``, stored frame, float32."""
        field = synthesize(self.keying.segment(segment), code)
        np.clip(field, -PEAK_SIGMAS, PEAK_SIGMAS, out=field)
        return np.ascontiguousarray(stored_from_display(field, self.analysis.info.rotation))

    def offsets(self, index: int, fields: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``index``'s change as (raise, lower) uint8 luma steps."""
        analysis = self.analysis
        weights = analysis.schedule.weights(index)
        if len(weights) == 1:
            ((segment, weight),) = weights
            field, scale = fields[segment], weight
        else:
            (s0, w0), (s1, w1) = weights
            field, scale = cv2.addWeighted(fields[s0], w0, fields[s1], w1, 0.0), 1.0
        scale *= float(analysis.gains[index]) / MASK_STEPS
        delta = cv2.multiply(analysis.masks[index], field, scale=scale, dtype=cv2.CV_32F)
        raise_by = cv2.add(delta, self._threshold, dtype=cv2.CV_8U)
        lower_by = cv2.subtract(self._neg_threshold, delta, dtype=cv2.CV_8U)
        return raise_by, lower_by

    def marked_frames(self, recipient_id: str) -> Iterator[tuple[FrameTiming, np.ndarray]]:
        """The recipient's frames (stored layout), in order, computed as they are consumed."""
        code = self.keying.recipient_code(recipient_id)
        yield from self.frames_for_code(code)

    def frames_for_code(self, code: np.ndarray) -> Iterator[tuple[FrameTiming, np.ndarray]]:
        analysis = self.analysis
        height = analysis.info.height
        fields: dict[int, np.ndarray] = {}
        for index, timing in enumerate(analysis.timings):
            needed = {segment for segment, _ in analysis.schedule.weights(index)}
            for segment in list(fields):
                if segment not in needed:
                    del fields[segment]
            for segment in needed - fields.keys():
                fields[segment] = self.segment_field(segment, code)
            planes = analysis.frames[index]
            raise_by, lower_by = self.offsets(index, fields)
            luma = planes[:height]
            cv2.subtract(cv2.add(luma, raise_by), lower_by, dst=luma)
            yield timing, planes

    def mark(
        self,
        recipient_id: str,
        out_path: str | os.PathLike[str],
        *,
        settings: EncodeSettings | None = None,
    ) -> None:
        """Write the recipient's marked copy to ``out_path`` (atomically)."""
        write_copy(
            self.analysis.info, self.marked_frames(recipient_id), out_path, settings=settings
        )
