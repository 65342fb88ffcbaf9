"""Deterministic, varied test texts: short, long (past 256 tokens), punctuation, non-ASCII."""

from __future__ import annotations

import random

_SHORT = [
    "",
    "   ",
    "ok",
    "Crash on startup.",
    "App freezes when I click 'Save' twice!!!",
    "NullPointerException at com.example.Foo.bar(Foo.java:42)",
    "Segfault in libgl.so.1 -- see attached core dump (3.2 GB)",
    "¿Por qué la aplicación se cierra al abrir un archivo .PDF?",
    "Die Anwendung stürzt ab, wenn ich auf „Speichern“ klicke.",
    "アプリが起動時にクラッシュします。",
    "应用程序在启动时崩溃",
    "Приложение падает при запуске",
    "التطبيق يتعطل عند بدء التشغيل",
    "Login button does nothing 😡😡 on iOS 17.2",
    "Ünïcödé nörmälïzätïön: ﬁ ﬂ Å Å ½ №",
    "<script>alert('xss')</script> in the comment field",
    "SELECT * FROM users WHERE id = '1' OR '1'='1';",
    "Tabs\tand\nnewlines\r\nin the body",
    "!!!???...,,,;;;:::---___***",
    "https://example.com/path?query=1&other=2#anchor returns HTTP 502",
]
_WORDS = [
    "the",
    "app",
    "crashes",
    "when",
    "user",
    "opens",
    "settings",
    "page",
    "after",
    "update",
    "memory",
    "leak",
    "in",
    "renderer",
    "thread",
    "timeout",
    "connecting",
    "database",
    "pool",
    "exhausted",
    "stack",
    "trace",
    "attached",
    "reproduce",
    "steps",
    "expected",
    "actual",
    "behaviour",
    "version",
    "build",
    "android",
    "windows",
    "linux",
    "macos",
    "firmware",
    "kernel",
    "driver",
    "usb",
    "bluetooth",
    "wifi",
    "battery",
    "drains",
    "quickly",
    "screen",
    "flickers",
    "dark",
    "mode",
    "font",
    "rendering",
    "broken",
]
_EXTRA = ["naïve", "café", "日本", "ß", "ø", "→", "✓", "λ", "Ω", "€", "(", ")", "!", "?", "%", "#"]


def varied_texts(n: int = 200, seed: int = 7) -> list[str]:
    """``n`` texts; roughly a tenth are long enough to be truncated at 256 tokens."""
    rng = random.Random(seed)
    texts = list(_SHORT)
    while len(texts) < n:
        kind = rng.random()
        if kind < 0.12:
            length = rng.randint(260, 600)  # well past 256 tokens: exercises truncation
        elif kind < 0.5:
            length = rng.randint(40, 120)  # bug-report sized
        else:
            length = rng.randint(1, 40)
        words = [
            rng.choice(_EXTRA) if rng.random() < 0.1 else rng.choice(_WORDS) for _ in range(length)
        ]
        text = " ".join(words)
        if rng.random() < 0.3:
            text = text.capitalize() + rng.choice([".", "!", "?", "...", " :("])
        texts.append(text)
    return texts[:n]


def text_of_words(n_words: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) for _ in range(n_words))
