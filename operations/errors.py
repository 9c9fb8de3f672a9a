"""The commands' errors: each class name is what the one-line message starts with."""


class OperationError(Exception):
    """Base of every error a command reports on purpose (exit status 1)."""


class BucketNotFound(OperationError):
    """The bucket does not exist, or the caller may not see it."""


class AccessDenied(OperationError):
    """The caller's credentials may not make this call."""


class QueueNotFound(OperationError):
    """The review queue URL names no queue the caller can reach."""


class NothingToReview(OperationError):
    """The review queue has no item available to take."""


class NothingHeld(OperationError):
    """`done` or `release` without an item taken first."""


class AlreadyHolding(OperationError):
    """`take` while an item is still held: finish or release it first."""


class HoldExpired(OperationError):
    """The held item's hold ran out: it may be with another reviewer now."""


class InvalidReviewItem(OperationError):
    """A queue message that is not a review item (not JSON, or fields missing)."""


class BackfillFailed(OperationError):
    """The backfill execution failed: an invalid request, or too many keys failed."""


class ResultsNotFound(OperationError):
    """The map run's ResultWriter manifest is not where AWS writes it."""


class InvalidDestination(OperationError):
    """S3 could not validate a destination the bucket already notifies (a deleted queue or
    function, or one that no longer admits S3), so it refused the whole write."""


class NotificationsChanged(OperationError):
    """The bucket's notifications changed between the command's read and its write: writing
    would undo someone else's change."""


class InvalidPrefix(OperationError):
    """A backfill prefix no S3 key can start with (not UTF-8, or over 1,024 bytes): refused
    before anything starts, where the execution would fail deep inside its listing."""


class NothingToBackfill(OperationError):
    """No key starts with the backfill's prefix: nothing is started."""


class StillRunning(OperationError):
    """The command stopped waiting for a backfill that goes on (exit status 3)."""


class InvalidAnswer(OperationError):
    """A review answer the ground truth cannot take: a label other than bicycle, motorcycle or
    neither, or a time spent that is not a number from 0."""


class DiscardRefused(OperationError):
    """`discard` of a review item: only a message that is not ours may be deleted unanswered."""


class HeldFileUnreadable(OperationError):
    """The file that keeps the command line's held item is not one it wrote (corrupt, cut
    short): `release` removes it; the item it held comes back when its hold runs out."""


class ImageNotFound(OperationError):
    """A review item's image is not in the image bucket, or was replaced since the model
    classified it (its etag differs)."""


class ImageTooLarge(OperationError):
    """A review item's image is larger than any image the workflow classifies."""


class InvalidReviewRecord(OperationError):
    """The review record already written for an inference id cannot be read as one: nothing is
    written over it."""


class WaitingMarkerLeft(OperationError):
    """An answer was recorded and its item left the queue, but the item's waiting marker could
    not be deleted: the waited-too-long alarm would count it."""
