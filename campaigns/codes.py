"""Drawing code texts: fast, unbiased, from `secrets`.

One `secrets.token_bytes` call per batch is mapped onto the alphabet with `bytes.translate`, which runs in C:
for an alphabet whose size divides 256 (the default has 32 symbols) every byte maps to one symbol
(`byte % size`) without bias; for other sizes the bytes at or above the largest multiple of the size are
deleted (rejection sampling), so each kept byte is still uniform. Drawing 1M codes takes well under a second.

A pattern spells a code position by position: `#` is a digit 0-9, `?` a letter of the charset, anything
else is literal (`SORRY-####-????`). Codes are upper-case; input is matched after `normalise_code`.
"""

import math
import secrets
from dataclasses import dataclass
from itertools import repeat

from campaigns.errors import CampaignError
from campaigns.models import DEFAULT_CHARSET, DEFAULT_CODE_LENGTH

DIGITS = "0123456789"
MAX_CODE_LENGTH = 64  # Code.code's max_length
WEAK_BITS = 40  # below this a guesser has a real chance: the campaign must say so (weak_codes_confirmed)
SPACE_FACTOR = 1000  # the space must hold 1000× the codes asked for, so a random guess hits < 0.1%


@dataclass(frozen=True)
class CodeConfig:
    length: int = DEFAULT_CODE_LENGTH
    charset: str = DEFAULT_CHARSET
    prefix: str = ""
    postfix: str = ""
    pattern: str = ""
    weak_codes_confirmed: bool = False

    @classmethod
    def for_campaign(cls, campaign) -> "CodeConfig":
        return cls(length=campaign.code_length, charset=campaign.code_charset, prefix=campaign.code_prefix,
                   postfix=campaign.code_postfix, pattern=campaign.code_pattern,
                   weak_codes_confirmed=campaign.weak_codes_confirmed)

    @property
    def symbols(self) -> str:
        """The charset upper-cased, without repeats, in the order given."""
        return "".join(dict.fromkeys(self.charset.upper()))

    @property
    def letters(self) -> str:
        return "".join(symbol for symbol in self.symbols if symbol.isalpha())

    @property
    def text_length(self) -> int:
        body = len(self.pattern) if self.pattern else self.length
        return len(self.prefix) + body + len(self.postfix)


def normalise_code(text: str) -> str:
    """What the customer typed -> the stored form: trimmed and upper-case (codes are case-insensitive)."""
    return (text or "").strip().upper()


def config_errors(config: CodeConfig) -> dict[str, list[str]]:
    """Field errors of a configuration on its own (API field names under `code_config`)."""
    errors: dict[str, list[str]] = {}
    symbols = config.symbols
    if len(symbols) < 2:
        errors["code_config.charset"] = ["Give at least two different symbols."]
    elif any(symbol.isspace() or symbol == "\\" for symbol in symbols):
        errors["code_config.charset"] = ["The charset may not contain spaces or backslashes."]
    if config.pattern:
        if "#" not in config.pattern and "?" not in config.pattern:
            errors["code_config.pattern"] = ["A pattern needs at least one # (digit) or ? (letter)."]
        elif "?" in config.pattern and len(config.letters) < 2 and "code_config.charset" not in errors:
            errors["code_config.pattern"] = ["? draws letters of the charset, which has fewer than two."]
    elif not 4 <= config.length <= MAX_CODE_LENGTH:
        errors["code_config.length"] = [f"Between 4 and {MAX_CODE_LENGTH} characters."]
    for name in ("prefix", "postfix", "pattern"):
        if any(character.isspace() or character == "\\" for character in getattr(config, name)):
            errors[f"code_config.{name}"] = ["No spaces or backslashes."]
    if config.text_length > MAX_CODE_LENGTH and "code_config.length" not in errors:
        errors["code_config.length"] = [f"Prefix, code and postfix together exceed {MAX_CODE_LENGTH} characters."]
    return errors


def code_space_bits(config: CodeConfig) -> float:
    """log2 of the number of different codes the configuration can draw."""
    if config.pattern:
        letters = max(len(config.letters), 1)
        return config.pattern.count("#") * math.log2(10) + config.pattern.count("?") * math.log2(letters)
    return config.length * math.log2(max(len(config.symbols), 1))


def check_code_space(config: CodeConfig, count: int) -> None:
    """Refuse a configuration that is invalid, guessable without confirmation, or too small for `count`.

    Raises CampaignError with field errors: the space must hold 1000 × `count` codes; a space under 40 bits
    needs `weak_codes_confirmed`.
    """
    errors = config_errors(config)
    if errors:
        raise CampaignError("The code configuration is invalid.", code="invalid", fields=errors)
    bits = code_space_bits(config)
    field = "code_config.pattern" if config.pattern else "code_config.length"
    if bits < math.log2(SPACE_FACTOR * max(count, 1)):
        raise CampaignError(
            f"This configuration allows about 2^{bits:.1f} codes, too few for {count} codes: it must allow "
            f"{SPACE_FACTOR}× as many codes as are drawn, so that a guess rarely hits. Use longer codes.",
            code="code_space_too_small", fields={field: ["Too few possible codes for this many codes."]},
        )
    if bits < WEAK_BITS and not config.weak_codes_confirmed:
        raise CampaignError(
            f"These codes have {bits:.1f} bits (under {WEAK_BITS}): they can be guessed. Set "
            "weak_codes_confirmed to accept that.",
            code="weak_codes_not_confirmed",
            fields={"weak_codes_confirmed": [f"Confirm codes of {bits:.1f} bits, which can be guessed."]},
        )


def _symbol_stream(alphabet: str, count: int) -> str:
    """`count` symbols drawn uniformly from `alphabet` (at most 256 symbols)."""
    size = len(alphabet)
    limit = 256 - 256 % size  # bytes from `limit` up would favour the first symbols: dropped
    table = bytes(ord(alphabet[byte % size]) if byte < limit else 0 for byte in range(256))
    rejected = bytes(range(limit, 256))
    if not alphabet.isascii():
        # translate() works on bytes: draw indexes, then map them onto the (non-ASCII) symbols.
        indexes = bytearray()
        while len(indexes) < count:
            indexes += bytes(byte % size for byte in secrets.token_bytes(count) if byte < limit)
        return "".join(alphabet[index] for index in indexes[:count])
    drawn = bytearray()
    while len(drawn) < count:
        # Ask for a little more than is needed on average, so one call nearly always suffices.
        wanted = count - len(drawn)
        drawn += secrets.token_bytes(wanted * 256 // limit + 16).translate(table, rejected)
    return drawn[:count].decode("ascii")


def draw_codes(config: CodeConfig, count: int) -> list[str]:
    """`count` random code texts (not checked against the database: the unique constraint does that)."""
    if count <= 0:
        return []
    prefix, postfix = config.prefix.upper(), config.postfix.upper()
    if not config.pattern:
        length = config.length
        stream = _symbol_stream(config.symbols, count * length)
        return [prefix + stream[start:start + length] + postfix for start in range(0, count * length, length)]
    # One column per pattern position: a random stream for # and ?, the literal repeated otherwise.
    digits = _symbol_stream(DIGITS, count * config.pattern.count("#"))
    letters = _symbol_stream(config.letters, count * config.pattern.count("?")) if "?" in config.pattern else ""
    columns, digit_column, letter_column = [], 0, 0
    for character in config.pattern.upper():
        if character == "#":
            columns.append(digits[digit_column * count:(digit_column + 1) * count])
            digit_column += 1
        elif character == "?":
            columns.append(letters[letter_column * count:(letter_column + 1) * count])
            letter_column += 1
        else:
            columns.append(repeat(character, count))
    return [prefix + "".join(parts) + postfix for parts in zip(*columns, strict=False)]


def draw_code(config: CodeConfig) -> str:
    return draw_codes(config, 1)[0]
