"""Custom Keras layers used by the shipped models, registered so that ``safe_mode=True`` loading finds them.

The registry imports this module before loading any model. Prefer built-in layers; add a layer here only when no
built-in one does the job, decorated with ``@keras.saving.register_keras_serializable(package="medai")``.
"""

from __future__ import annotations

__all__: list[str] = []
