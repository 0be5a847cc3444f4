"""The naive bot that `latency.py` measures avatarops against (and, with --echo, a bare echo bot).

It does the job with nothing around it: no admin map, no store, no queue, no retry, no audit.
A photo captioned `/setgrouppic <alias>` -> download the biggest size Telegram made -> Pillow
centre crop + resize to 640 px + JPEG -> Green API `setGroupPicture` -> reply with the URL.
With --echo it answers every message at once with its caption or text: the floor of what any
python-telegram-bot bot costs on the same Bot API.

    TELEGRAM_BOT_TOKEN=... GREEN_API_TOKEN=... python benchmarks/naive_bot.py \\
        --telegram http://127.0.0.1:8081 --green-api http://127.0.0.1:8082 \\
        --id-instance 1101000001 --group family=120363000000000001@g.us
"""

from __future__ import annotations

import argparse
import io
import os

import httpx
from PIL import Image, ImageOps
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

SIDE = 640
QUALITY = 85


def square_jpeg(data: bytes) -> bytes:
    """The centre square at 640 px, as a JPEG: what a first version of any such bot does."""
    with Image.open(io.BytesIO(data)) as image:
        square = ImageOps.fit(image.convert("RGB"), (SIDE, SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def picture_bot(application: Application, args: argparse.Namespace) -> None:
    groups = dict(pair.split("=", 1) for pair in args.group)
    token = os.environ["GREEN_API_TOKEN"]
    url = f"{args.green_api}/waInstance{args.id_instance}/setGroupPicture/{token}"
    http = httpx.AsyncClient(timeout=60)

    async def set_group_picture(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.caption is not None
        words = message.caption.split()
        group = groups.get(words[1]) if len(words) == 2 else None
        if group is None:
            await message.reply_text("Which group?", do_quote=True)
            return
        biggest = max(message.photo, key=lambda size: size.width * size.height)
        data = await (await biggest.get_file()).download_as_bytearray()
        jpeg = square_jpeg(bytes(data))
        response = await http.post(
            url, data={"groupId": group}, files={"file": ("avatar.jpg", jpeg, "image/jpeg")}
        )
        answer = response.json()
        if answer.get("setGroupPicture"):
            await message.reply_text(f"Done: {answer['urlAvatar']}", do_quote=True)
        else:
            await message.reply_text(f"Could not: {answer.get('reason')}", do_quote=True)

    async def close_http(_: Application) -> None:
        await http.aclose()

    application.post_shutdown = close_http
    application.add_handler(
        MessageHandler(filters.PHOTO & filters.CaptionRegex(r"^/setgrouppic\b"), set_group_picture)
    )


def echo_bot(application: Application) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        await message.reply_text(message.caption or message.text or "?", do_quote=True)

    application.add_handler(MessageHandler(filters.ALL, echo))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--telegram", required=True, help="the Bot API's base URL")
    parser.add_argument("--echo", action="store_true", help="only echo every message")
    parser.add_argument("--green-api", help="Green API's base URL")
    parser.add_argument("--id-instance")
    parser.add_argument("--group", action="append", default=[], help="alias=chat id")
    args = parser.parse_args()
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{args.telegram}/bot")
        .base_file_url(f"{args.telegram}/file/bot")
        .build()
    )
    if args.echo:
        echo_bot(application)
    else:
        picture_bot(application, args)
    application.run_polling()


if __name__ == "__main__":
    main()
