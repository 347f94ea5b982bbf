# firmware: romfs
# What the screens show (reader.terminal.screens), without a display: the event -> screen
# mapping, the masked ID number, the age, the Chinese reasons, the lines of each screen.
# (The drawing, pixel for pixel: tests/host/test_display_screens.py.)
from reader.terminal import screens, settings

ID_HEX = "343130313035313938353033313534323133"     # AN items travel as hex


class Session:
    def __init__(self, mask="4-4"):
        self.config = {"display_id_mask": mask}
        self.terminal = None


def test_each_outcome_has_its_screen():
    s = Session()
    body = {"uid": "8A3F21C7", "XM": "D5C5CEB0", "XB": "01", "CSRQ": "19850315",
            "SFZH": ID_HEX, "blacklist_stale": False}
    assert screens._outcome(s, "ok", body) == ("patient", {
        "name": b"\xd5\xc5\xce\xb0", "sex": "01", "birth": "19850315",
        "id": "410105198503154213", "today": None, "stale": False})
    assert screens._outcome(s, "refused", dict(body, reason="expired")) == (
        "refused", {"reason": "expired", "id": "410105198503154213"})
    assert screens._outcome(s, "error", {"uid": "01", "reason": "sam"}) == (
        "error", {"reason": "sam", "id": ""})
    assert screens._outcome(s, "qr", {"status": "ok", "id": "E1EA"}) == (
        "qr", {"status": "ok", "reason": None})


def test_the_id_number_is_masked_as_configured():
    number = "410105198503154213"
    assert screens.mask_id(number, "4-4") == "4101**********4213"
    assert screens.mask_id(number, "6-0") == "410105************"
    assert screens.mask_id(number, "full") == number
    assert screens.mask_id(number, "hidden") is None
    assert screens.mask_id("", "4-4") is None
    s = Session("hidden")
    lines = screens._lines(s, "patient", {"name": b"", "id": number, "sex": "02"})
    assert lines[2] is None and lines[1].startswith("女")


def test_the_setting_is_checked():
    for good in ("4-4", "0-4", "full", "hidden"):
        settings.check_one("display_id_mask", good)
    for bad in ("4", "44-4", "a-b", "", 4):
        try:
            settings.check_one("display_id_mask", bad)
        except ValueError as error:
            assert "display_id_mask" in str(error)
        else:
            raise AssertionError("display_id_mask %r was accepted" % (bad,))


def test_age_in_whole_years():
    assert screens.age("19850315", "20260314") == 40
    assert screens.age("19850315", "20260315") == 41
    assert screens.age("19850315", None) is None
    s = Session()
    assert screens._lines(s, "patient", {"name": b"", "sex": "01", "birth": "19850315",
                                         "today": None})[1] == "男 出生19850315"


def test_reasons_in_chinese():
    assert screens.reason_text("blacklisted") == "黑名单卡"
    assert screens.reason_text("card_removed") == "卡片已移开"
    assert screens.reason_text("bad_issuer") == "发码机构无效"
    assert screens.reason_text("something-new") == "未知原因"
    assert screens._lines(Session(), "refused", {"reason": "locked"})[:2] == [
        "拒绝受理", "卡已锁定"]


def test_text_wraps_at_the_width():
    lines = screens._wrap("请刷卡" * 4 + "abc")
    assert lines == ["请刷卡请刷卡请刷", "卡请刷卡abc", None, None]
