"""What the reader's display shows: one function, `show(s, name, values)`, for the session
`s` of a board with a display (docs/display.md). Transient (reader.TRANSIENT), and imported
only on boards with a display (reader.terminal.feedback asks the board first): a reader
without one never brings it, the font reader or framebuf into RAM.

The display is the board's (`board.display()`: micropython-lib's SSD1306 driver, a
framebuf.FrameBuffer of 128x64 with `show()`), made once and kept by the session
(`s.display`); each screen clears its buffer, draws four 16-pixel lines with the font of
`board.FONT` (reader.terminal.glyphs, read glyph by glyph from the flash) and sends it.

| name        | values                                     | shows                        |
|-------------|--------------------------------------------|------------------------------|
| idle        | time (text or None), installed, age_h      | 请刷卡, the time, list's age |
| stale       | time, installed, age_h                     | the list is missing/too old  |
| reading     |                                            | 读卡中                       |
| patient     | name (GBK), sex (XB), birth, id, today,    | name, sex, age, masked ID    |
|             | stale                                      |                              |
| refused     | reason (the event's), id                   | 拒绝受理, the reason         |
| error       | reason                                     | 读卡失败, the reason         |
| qr          | status, reason                             | the QR code's outcome        |
| pin         | digits (count typed), tries_left           | masked PIN entry             |
| low_battery | percent                                    | 电量低                       |
| link_down   | journal (taps kept for the host)           | 主机未连接, the count        |
| text        | text (the host's feedback display request) | the text, wrapped            |

`page(s, obj)` answers the host's screen request (reader.terminal.requests asks the board
first): what the display shows, a page at a time.
"""

import time

from micropython import const

import reader
from reader.terminal.glyphs import Font

_LINE = const(16)
_WIDTH = const(128)

# reasons (docs/terminal-flow.md) -> Chinese, "reason text" one a line, a bytes constant
# read in place (decoded for the one line shown)
_REASONS = (
    "\nlocked 卡已锁定\nexpired 卡已过期\nblacklisted 黑名单卡\nblacklist_stale 黑名单过期"
    "\nclock_not_set 时钟未设置\nnot_a_health_card 非健康卡\nauth_failed 卡认证失败"
    "\naccess_denied 无权访问\ninvalid_data 卡数据无效\ncard_removed 卡片已移开"
    "\ncommunication 读卡通信失败\nsam 安全模块故障\ninternal 读卡器内部错误"
    "\njournal_full 离线记录已满"
    "\nempty 空码\nfields 码内容不全\nbad_id 码号无效\nbad_type 码类型无效"
    "\nbad_validity 有效期无效\nbad_issuer 发码机构无效\ntoo_long 码太长\nnot_text 非文本码\n"
).encode()
_SEX = {"01": "男", "1": "男", "02": "女", "2": "女"}


def reason_text(reason):
    """The Chinese text of an event reason ("未知原因" for one the table does not have)."""
    from reader.errors import table_line

    line = table_line(_REASONS, reason or "")
    return line or "未知原因"


def mask_id(number, mask):
    """The ID number as setting display_id_mask says: "F-L" keeps the first F and last L
    characters ("4-4": 4101**********4213), "full" all of it, "hidden" none (None)."""
    if not number or mask == "hidden":
        return None
    if mask == "full":
        return number
    first, _, last = mask.partition("-")
    first, last = int(first), int(last)
    if first + last >= len(number):
        return number
    return number[:first] + "*" * (len(number) - first - last) + number[len(number) - last:]


def age(birth, today):
    """Whole years from `birth` to `today` ("YYYYMMDD" both), None when either is missing."""
    if not birth or not today or len(birth) < 8:
        return None
    years = int(today[:4]) - int(birth[:4])
    if today[4:8] < birth[4:8]:
        years -= 1
    return years


def _display(s):
    if s.display is None:
        s.display = s.board.display()
    return s.display


def show(s, name, values):
    """Draw screen `name` with `values` (the table above) and send it to the display; the
    name of the screen shown. Two names pick the screen themselves: "idle" without values
    (idle, or stale while the blacklist is; values from the terminal) and "outcome"
    ({"outcome", "body"}: a tap's or a QR code's event -> patient, refused, error or qr)."""
    if name == "idle" and not values:
        name, values = _idle(s.terminal)
    elif name == "outcome":
        name, values = _outcome(s, values["outcome"], values["body"])
    fb = _display(s)
    font = Font(s.board.FONT)
    try:
        fb.fill(0)
        lines = _lines(s, name, values)
        for row in range(len(lines)):
            text = lines[row]
            if text is None:
                continue
            narrow = isinstance(text, tuple)
            if narrow:
                text = text[0]
            x = 0 if narrow else max(0, (_WIDTH - font.width(text)) // 2)
            font.text(fb, text, x, row * _LINE, narrow)
        fb.show()
    finally:
        font.close()
    return name


def page(s, obj):
    """The host's screen request: page obj["page"] (0-7) of what the display shows, 128
    bytes each a column of 8 pixels, LSB on top, as the SSD1306's GDDRAM (docs/display.md)."""
    from reader import hostlink
    from reader.terminal.session import LinkError

    number = obj.get("page", 0)
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < 8:
        raise LinkError(hostlink.BAD_REQUEST, "page: 0-7 expected")
    if s.display is None and s.display_error is None:
        show(s, "idle", {})     # asked before the flow drew its first screen: draw it now
    if s.display is None:
        raise LinkError(hostlink.DEVICE, "the display has shown nothing yet (%s): restart "
                        "the reader if this lasts" % (s.display_error or "starting"))
    from binascii import hexlify

    data = memoryview(s.display.buffer)[number * 128:number * 128 + 128]
    return {"page": number, "pages": 8, "data": hexlify(data).decode().upper()}


def _idle(t):
    """The idle screen ("stale" while the blacklist is, "link_down" while taps wait in the
    offline journal for the host) and its values, from terminal `t`."""
    if t is None:
        return "idle", {}
    server = t.server
    waiting = server.journal_waiting() if hasattr(server, "journal_waiting") else 0
    if waiting:                 # the host link is down: taps kept in the offline journal
        return "link_down", {"journal": waiting}
    values = {"time": None, "installed": False, "age_h": None}
    if t.clock_set:
        now = time.localtime(time.time() + t.clock_offset)
        values["time"] = "%04d-%02d-%02d %02d:%02d" % now[:5]
    blacklist = t.blacklist()
    try:
        stale = t.blacklist_stale(blacklist)
        utc = t.utc()
        values["installed"] = blacklist.installed
        if blacklist.installed and utc is not None:
            values["age_h"] = max(0, utc - blacklist.issued) // 3600
    finally:
        blacklist.close()
        reader.let_go("terminal.blacklist")
    return ("stale" if stale else "idle"), values


def _outcome(s, outcome, body):
    """(screen, values) for an event body: a tap's (it has "uid") or a QR code's."""
    if "uid" not in body:
        return "qr", {"status": body.get("status"), "reason": body.get("reason")}
    from binascii import unhexlify

    number = unhexlify(body.get("SFZH") or "").decode()     # AN items travel as hex
    if outcome != "ok":
        return ("refused" if outcome == "refused" else "error"), {
            "reason": body.get("reason"), "id": number}
    t = s.terminal
    return "patient", {"name": unhexlify(body.get("XM") or ""), "sex": body.get("XB"),
                       "birth": body.get("CSRQ"), "id": number,
                       "today": t.today() if t is not None and t.clock_set else None,
                       "stale": body.get("blacklist_stale")}


def _lines(s, name, v):
    """The four lines of a screen: str or bytes (GBK), centred; a 1-tuple (narrow digits
    from the left); or None."""
    if name == "idle" or name == "stale":
        age_h = v.get("age_h")
        if not v.get("installed"):
            listed = "无黑名单"
        elif age_h is None:
            listed = "黑名单已安装"
        elif age_h < 48:
            listed = "黑名单%d小时前" % age_h
        else:
            listed = "黑名单%d天前" % (age_h // 24)
        first = "黑名单过期" if name == "stale" else "请刷卡"
        last = "请联网更新" if name == "stale" else None
        return [first, v.get("time") or "时钟未设置", listed, last]
    if name == "reading":
        return [None, "读卡中...", "请勿移开卡片", None]
    if name == "patient":
        years = age(v.get("birth"), v.get("today"))
        about = _SEX.get(v.get("sex"), "性别未知")
        about += " %d岁" % years if years is not None else " 出生" + (v.get("birth") or "?")
        number = mask_id(v.get("id"), s.config.get("display_id_mask", "4-4"))
        return [v.get("name") or "", about, (number,) if number else None,
                "黑名单过期" if v.get("stale") else "核验通过"]
    if name == "refused":
        number = mask_id(v.get("id"), s.config.get("display_id_mask", "4-4"))
        return ["拒绝受理", reason_text(v.get("reason")), (number,) if number else None, None]
    if name == "error":
        return ["读卡失败", reason_text(v.get("reason")), "请重新刷卡", None]
    if name == "qr":
        if v.get("status") == "ok":
            return [None, "电子健康码", "核验通过", None]
        return ["电子健康码", "拒绝受理", reason_text(v.get("reason")), None]
    if name == "pin":
        return ["请输入密码", "*" * v.get("digits", 0) or "_",
                "剩余%d次" % v.get("tries_left", 0), "确认#  取消*"]
    if name == "low_battery":
        return ["电量低", "%d%%" % v.get("percent", 0), "请充电", None]
    if name == "link_down":
        return ["主机未连接", "离线记录%d条" % v.get("journal", 0), "联网后上传", None]
    if name == "text":
        return _wrap(v.get("text") or "")
    raise ValueError("no screen %r" % name)


def _wrap(text):
    """Text cut into four lines of at most 128 pixels."""
    lines, line, width = [], "", 0
    for char in text:
        w = 8 if ord(char) < 0x80 else 16
        if width + w > _WIDTH:
            lines.append(line)
            line, width = "", 0
        line += char
        width += w
    lines.append(line)
    return (lines + [None] * 4)[:4]
