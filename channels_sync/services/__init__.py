"""Channel sync services: every write goes through one of these functions."""

from channels_sync.services.channels import channel_connect, channel_disable, channel_enable
from channels_sync.services.ingest import IngestResult, ingest
from channels_sync.services.polling import channel_poll, sync_run, sync_start
from channels_sync.services.webhooks import webhook_process, webhook_retry, webhook_store
from channels_sync.services.writeback import order_status_update, writeback_attempt, writeback_retry

__all__ = [
    "IngestResult", "channel_connect", "channel_disable", "channel_enable", "channel_poll", "ingest",
    "order_status_update", "sync_run", "sync_start", "webhook_process", "webhook_retry", "webhook_store",
    "writeback_attempt", "writeback_retry",
]
