// Markdown from session text, rendered as DOM nodes built by Preact, never as an HTML string:
// marked only tokenizes. Raw HTML in the text shows as text; links work only for http(s) and
// mailto and open without a referrer; images are never loaded (a tracking pixel in a transcript
// must not call home), they show as their alt text and address.
import type { ComponentChildren } from 'preact';
import { Lexer, type Token, type Tokens } from 'marked';

const SAFE_LINK = /^(https?:|mailto:)/i;

function inline(tokens: Token[] | undefined): ComponentChildren {
  if (!tokens) return null;
  return tokens.map((t, i) => <InlineToken key={i} t={t} />);
}

function InlineToken({ t }: { t: Token }) {
  switch (t.type) {
    case 'strong':
      return <strong>{inline((t as Tokens.Strong).tokens)}</strong>;
    case 'em':
      return <em>{inline((t as Tokens.Em).tokens)}</em>;
    case 'del':
      return <del>{inline((t as Tokens.Del).tokens)}</del>;
    case 'codespan':
      return <code>{decodeEntities((t as Tokens.Codespan).text)}</code>;
    case 'br':
      return <br />;
    case 'link': {
      const l = t as Tokens.Link;
      if (!SAFE_LINK.test(l.href.trim())) return <span>{inline(l.tokens)}</span>;
      return (
        <a href={l.href} target="_blank" rel="noopener noreferrer nofollow">
          {inline(l.tokens)}
        </a>
      );
    }
    case 'image': {
      const im = t as Tokens.Image;
      return <span class="muted">[image: {im.text || 'no description'} — {im.href}]</span>;
    }
    case 'text': {
      const tt = t as Tokens.Text;
      return tt.tokens ? <>{inline(tt.tokens)}</> : <>{decodeEntities(tt.text)}</>;
    }
    case 'escape':
      return <>{decodeEntities((t as Tokens.Escape).text)}</>;
    default:
      return <>{t.raw}</>;
  }
}

/** marked escapes &, <, > and quotes in text tokens for HTML output; as DOM text they must be plain. */
function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? _m);
}

function Block({ t }: { t: Token }) {
  switch (t.type) {
    case 'heading': {
      const h = t as Tokens.Heading;
      const content = inline(h.tokens);
      return h.depth <= 1 ? <h2>{content}</h2> : h.depth === 2 ? <h3>{content}</h3> : <h4>{content}</h4>;
    }
    case 'paragraph':
      return <p>{inline((t as Tokens.Paragraph).tokens)}</p>;
    case 'code':
      return <pre>{(t as Tokens.Code).text}</pre>;
    case 'blockquote':
      return <blockquote>{(t as Tokens.Blockquote).tokens.map((c, i) => <Block key={i} t={c} />)}</blockquote>;
    case 'list': {
      const l = t as Tokens.List;
      const items = l.items.map((item, i) => (
        <li key={i}>
          {item.task ? <input type="checkbox" checked={item.checked} disabled /> : null}
          {item.tokens.map((c, j) => (c.type === 'text' ? <InlineToken key={j} t={c} /> : <Block key={j} t={c} />))}
        </li>
      ));
      return l.ordered ? <ol start={typeof l.start === 'number' ? l.start : undefined}>{items}</ol> : <ul>{items}</ul>;
    }
    case 'table': {
      const tb = t as Tokens.Table;
      return (
        <table>
          <thead>
            <tr>
              {tb.header.map((c, i) => (
                <th key={i}>{inline(c.tokens)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {tb.rows.map((r, i) => (
              <tr key={i}>
                {r.map((c, j) => (
                  <td key={j}>{inline(c.tokens)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      );
    }
    case 'hr':
      return <hr />;
    case 'space':
      return null;
    case 'html':
      // Shown, not run.
      return <pre>{t.raw}</pre>;
    case 'text': {
      const tt = t as Tokens.Text;
      return <p>{tt.tokens ? inline(tt.tokens) : tt.text}</p>;
    }
    default:
      return <p>{t.raw}</p>;
  }
}

export function Markdown({ text }: { text: string }) {
  let tokens: Token[];
  try {
    tokens = new Lexer({ gfm: true }).lex(text);
  } catch {
    return <pre>{text}</pre>;
  }
  return (
    <div class="md">
      {tokens.map((t, i) => (
        <Block key={i} t={t} />
      ))}
    </div>
  );
}
