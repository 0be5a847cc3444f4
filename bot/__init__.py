"""avatarops: manage WhatsApp group pictures from Telegram."""
