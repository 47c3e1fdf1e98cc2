import math
import re

import pytest

from campaigns.codes import CodeConfig, check_code_space, code_space_bits, draw_codes, normalise_code
from campaigns.errors import CampaignError
from campaigns.models import DEFAULT_CHARSET


def test_default_codes_use_the_charset_and_length():
    # given
    config = CodeConfig()
    # when
    codes = draw_codes(config, 2000)
    # then
    assert len(codes) == 2000
    assert all(len(code) == 12 and set(code) <= set(DEFAULT_CHARSET) for code in codes)
    assert len(set(codes)) == 2000


def test_every_symbol_of_the_charset_appears():
    # given
    config = CodeConfig(length=10)
    # when
    symbols = set("".join(draw_codes(config, 1000)))
    # then
    assert symbols == set(DEFAULT_CHARSET)


def test_charset_of_other_size_uses_rejection_sampling_and_stays_in_charset():
    # given: 10 symbols, 256 % 10 != 0
    config = CodeConfig(charset="abcdefghij", length=8)
    # when
    codes = draw_codes(config, 5000)
    # then: upper-cased, all ten symbols, about equally often
    text = "".join(codes)
    assert set(text) == set("ABCDEFGHIJ")
    counts = [text.count(symbol) for symbol in "ABCDEFGHIJ"]
    assert max(counts) - min(counts) < 0.1 * len(text) / 10


def test_prefix_and_postfix_are_added_upper_case():
    # given
    config = CodeConfig(length=6, prefix="wb-", postfix="-x")
    # when
    code = draw_codes(config, 1)[0]
    # then
    assert re.fullmatch(r"WB-[A-Z2-9]{6}-X", code)


def test_pattern_draws_digits_and_letters_and_keeps_literals():
    # given
    config = CodeConfig(pattern="SORRY-####-????")
    # when
    codes = draw_codes(config, 500)
    # then
    letters = "".join(symbol for symbol in DEFAULT_CHARSET if symbol.isalpha())
    assert all(re.fullmatch(rf"SORRY-[0-9]{{4}}-[{letters}]{{4}}", code) for code in codes)
    assert len(set(codes)) > 490


def test_code_space_bits():
    assert code_space_bits(CodeConfig()) == 60.0
    assert code_space_bits(CodeConfig(length=8, charset="ABCDEFGHIJKLMNOP")) == 32.0
    assert code_space_bits(CodeConfig(pattern="##-??")) == pytest.approx(2 * math.log2(10) + 2 * math.log2(24))


def test_default_config_needs_no_confirmation():
    check_code_space(CodeConfig(), 1_000_000)


def test_weak_config_is_refused_without_confirmation():
    # given: 8 × 5 bits = 40 is fine, 7 × 5 = 35 is weak
    check_code_space(CodeConfig(length=8), 1000)
    with pytest.raises(CampaignError) as refused:
        check_code_space(CodeConfig(length=7), 1000)
    # then
    assert refused.value.code == "weak_codes_not_confirmed"
    assert list(refused.value.fields) == ["weak_codes_confirmed"]
    check_code_space(CodeConfig(length=7, weak_codes_confirmed=True), 1000)


def test_space_too_small_for_the_count_is_refused_even_when_confirmed():
    # given: 6 symbols of 32 = 2^30 ≈ 1.07e9 codes: enough for 1e6, not for 2e6
    config = CodeConfig(length=6, weak_codes_confirmed=True)
    check_code_space(config, 1_000_000)
    # when
    with pytest.raises(CampaignError) as refused:
        check_code_space(config, 2_000_000)
    # then
    assert refused.value.code == "code_space_too_small"
    assert list(refused.value.fields) == ["code_config.length"]
    assert "2000000" in refused.value.message


def test_invalid_config_is_refused_with_field_errors():
    with pytest.raises(CampaignError) as refused:
        check_code_space(CodeConfig(charset="A", length=70), 1)
    assert set(refused.value.fields) == {"code_config.charset", "code_config.length"}


def test_normalise_code_strips_and_upper_cases():
    assert normalise_code("  wb-abc9 \n") == "WB-ABC9"
    assert normalise_code("") == ""
