"""A keyboard-wedge scanner in the browser tests: it types the code and presses Enter into whatever has the focus,
and waits for the scan page's answer (body[data-answers] counts them)."""

from __future__ import annotations


class Scanner:
    def __init__(self, page):
        self.page = page

    def answers(self) -> int:
        return int(self.page.get_attribute("body", "data-answers"))

    def scan(self, *codes: str) -> tuple[str, str]:
        """Scan one code after the other without waiting between them; the last answer's level and words."""
        before = self.answers()
        for code in codes:
            self.page.keyboard.type(code)
            self.page.keyboard.press("Enter")
        self.page.wait_for_function(f"Number(document.body.dataset.answers) >= {before + len(codes)}")
        return self.banner()

    def press(self, key: str) -> tuple[str, str]:
        before = self.answers()
        self.page.keyboard.press(key)
        self.page.wait_for_function(f"Number(document.body.dataset.answers) > {before}")
        return self.banner()

    def banner(self) -> tuple[str, str]:
        level = self.page.get_attribute("#scan-answer", "class").split("answer-")[-1].split()[0]
        return level, self.page.inner_text("#scan-answer .answer-text")

    def focused(self) -> str:
        return self.page.evaluate("document.activeElement.id")

    def sound(self) -> str | None:
        return self.page.get_attribute("body", "data-sound")

    def text(self, selector: str) -> str:
        return " ".join(self.page.inner_text(selector).split())

    def count(self) -> str:
        return self.page.inner_text("#manifest-count")
