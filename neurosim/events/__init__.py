"""Event data: reading event-camera files (on tonic), the N-MNIST subset as a dataset, an
event-camera simulator (ESIM/v2e model) and moving-image movies from real photographs.
Transforms (denoising, binning to frames) are tonic's: ``tonic.transforms``."""
from .camera import EventCameraSimulator, EventLimitError, Movie, moving_image_movie
from .dataset import NMNIST_SENSOR, NMNISTSmall
from .io import EVENT_DTYPE, EventFileError, read_events

__all__ = ["EVENT_DTYPE", "EventFileError", "read_events", "NMNISTSmall", "NMNIST_SENSOR", "EventCameraSimulator", "EventLimitError", "Movie",
           "moving_image_movie"]
