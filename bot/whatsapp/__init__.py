"""The WhatsApp Business Cloud API channel: the same assistant as the Telegram bot, served by
`campo serve` at ``/v1/whatsapp/webhook`` when it is configured (docs/whatsapp.md)."""
