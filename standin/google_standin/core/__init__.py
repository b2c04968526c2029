"""What both APIs share: the transport (requests adapter), discovery-document routing and validation,
field masks, faults and quotas, stats, Google's error bodies, A1 notation and timestamps."""
