"""Hostile documents for the reading budget (issue 18), generated: no binary is committed.

Each maker returns the file's bytes. Sizes default to what the tests need to cross the real limit
of :mod:`pipelines.extract.budget`; ``bench/bench_budget.py`` passes the sizes of the issue's table
(a 5 GB content stream, a 1 GB part).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

# --- PDF, written by hand: the attacks are in the object graph, which no PDF library will write ----


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF whose object n+1 is objects[n] (object 1 is the catalog), with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _stream(data: bytes, compressed: bool = True) -> bytes:
    if compressed:
        data = zlib.compress(data, 9)
        return b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_TEXT = b"BT /F1 12 Tf 72 760 Td (Bilan d'activite 2023 du SIIM94) Tj ET\n"


def _one_page(content: bytes) -> list[bytes]:
    """Catalog, pages, page, font, content (object 5, given already written)."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        _FONT,
        content,
    ]


def pdf_text(text: str = "Bilan d'activite 2023 du SIIM94") -> bytes:
    """A good one-page PDF (a control)."""
    return _pdf(_one_page(_stream(b"BT /F1 12 Tf 72 760 Td (%s) Tj ET\n" % text.encode("latin-1"))))


def _deflate_padded(comp, head: bytes, inflated: int) -> bytes:
    """``head`` then spaces up to ``inflated`` bytes, compressed piece by piece to keep memory flat."""
    parts = [comp.compress(head)]
    chunk = b" " * (8 * 1024 * 1024)
    left = inflated - len(head)
    while left > 0:
        parts.append(comp.compress(chunk[:min(left, len(chunk))]))
        left -= len(chunk)
    parts.append(comp.flush())
    return b"".join(parts)


def pdf_inflating(inflated: int = 200 * 1024 * 1024) -> bytes:
    """One page whose content stream inflates to ``inflated`` bytes (spaces after a line of text):
    a few hundred kB on disk per 100 MB inflated, compressed piece by piece to keep memory flat."""
    data = _deflate_padded(zlib.compressobj(9), _TEXT, inflated)
    content = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    return _pdf(_one_page(content))


def pdf_rulings(n: int = 400) -> bytes:
    """One page ruled by n horizontal and n vertical lines (n × n crossings), with a line of text."""
    ops = [_TEXT, b"0.1 w\n"]
    for k in range(n):
        pos = 20 + 800 * k / n
        ops.append(b"20 %.2f m 575 %.2f l S\n" % (pos, pos))
        ops.append(b"%.2f 20 m %.2f 820 l S\n" % (20 + 555 * k / n, 20 + 555 * k / n))
    return _pdf(_one_page(_stream(b"".join(ops))))


def pdf_deep_tree(depth: int = 2000) -> bytes:
    """A page tree ``depth`` levels of /Pages deep above its one page."""
    # objects: 1 catalog, 2 font, 3 content, 4 the page, 5.. the /Pages chain (5 is the root)
    objects = [b"<< /Type /Catalog /Pages 5 0 R >>", _FONT, _stream(_TEXT)]
    first = 5
    objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] "
                   b"/Resources << /Font << /F1 2 0 R >> >> /Contents 3 0 R >>" % (first + depth - 1))
    for level in range(depth):
        n = first + level
        kid = n + 1 if level < depth - 1 else 4
        parent = b" /Parent %d 0 R" % (n - 1) if level else b""
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1%s >>" % (kid, parent))
    return _pdf(objects)


# --- DOCX: a real python-docx package whose document.xml body is replaced ---------------------------

_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_with_body(body: bytes | list[bytes]) -> bytes:
    """A DOCX (python-docx's template) whose body is ``body`` (WordprocessingML, w: prefix)."""
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            if info.filename == "word/document.xml":
                parts = body if isinstance(body, list) else [body]
                xml = b"".join([b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                b"<w:document %s><w:body>" % _W.encode(), *parts,
                                b"</w:body></w:document>"])
                z.writestr(info.filename, xml)
            else:
                z.writestr(info, source.read(info))
    return out.getvalue()


def _p(text: str) -> bytes:
    return b"<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % text.encode()


def docx_text() -> bytes:
    """A good DOCX (a control)."""
    return docx_with_body([_p("Bilan d'activité 2023 du SIIM94"), _p("Le syndicat compte 12 adhérents.")])


def docx_grid_span(span: int = 100_000_000) -> bytes:
    """A two-column table whose first cell claims to span ``span`` grid columns."""
    def tc(text: str, extra: bytes = b"") -> bytes:
        return b"<w:tc><w:tcPr>%s</w:tcPr>%s</w:tc>" % (extra, _p(text))
    table = (b"<w:tbl><w:tblGrid><w:gridCol/><w:gridCol/></w:tblGrid>"
             b"<w:tr>" + tc("Adhérent", b'<w:gridSpan w:val="%d"/>' % span) + tc("Montant") + b"</w:tr>"
             b"<w:tr>" + tc("Arcueil") + tc("1 200") + b"</w:tr>"
             b"<w:tr>" + tc("Total", b'<w:vMerge w:val="restart"/>') + tc("1 200") + b"</w:tr></w:tbl>")
    return docx_with_body([_p("Bilan d'activité 2023 du SIIM94"), table])


def docx_paragraphs(n: int = 852_000) -> bytes:
    """``n`` one-letter paragraphs (about 118 kB zipped for the issue's 852 000)."""
    return docx_with_body([_p("Bilan d'activité 2023 du SIIM94")] + [b"<w:p><w:r><w:t>a</w:t></w:r></w:p>"] * n)


def docx_styled(paragraphs: int = 3000, styles: int = 400) -> bytes:
    """A DOCX with many styles, every paragraph styled: the cost of the style look-up."""
    import docx

    document = docx.Document()
    from docx.enum.style import WD_STYLE_TYPE

    made = [document.styles.add_style(f"Corps {k}", WD_STYLE_TYPE.PARAGRAPH) for k in range(styles)]
    document.add_paragraph("Bilan d'activité 2023 du SIIM94")
    for k in range(paragraphs):
        document.add_paragraph(f"Paragraphe {k}", style=made[-1 - k % 7])
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_lying_zip(inflated: int = 1024 * 1024 * 1024, declared: int = 4096) -> bytes:
    """A DOCX whose word/document.xml really inflates to ``inflated`` bytes while its ZIP headers
    (local and central) say ``declared``: a reader that trusts the headers is fooled."""
    good = zipfile.ZipFile(io.BytesIO(docx_text()))
    head = good.read("word/document.xml").replace(b"</w:body>", b"")
    raw = _deflate_padded(zlib.compressobj(9, zlib.DEFLATED, -15), head, inflated)
    out = io.BytesIO()
    central = []
    for info in good.infolist():
        name = info.filename.encode()
        if info.filename == "word/document.xml":
            data, size, crc = raw, declared, 0
        else:
            plain = good.read(info)
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            data, size, crc = c.compress(plain) + c.flush(), len(plain), zlib.crc32(plain)
        offset = out.tell()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0))
        out.write(name + data)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data), size,
                                   len(name), 0, 0, 0, 0, 0, offset) + name)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central),
                          out.tell() - start, start, 0))
    return out.getvalue()
