"""The Pusher: TFX's standard component with an executor that never half-writes a version."""
