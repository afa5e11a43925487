/**
 * What the server offers, learned from registration replies (004, 005 ISUPPORT, 800, CAP LS) and
 * shared by every user of one agent: IRCX, auditorium support, STATUSMSG, channel mode kinds.
 */
import type { VuEvents } from '../types.js';

export type AuditoriumMode =
  /** IRCX CREATE +x: the server routes member messages to hosts only. */
  | 'ircx'
  /** InspIRCd's m_auditorium (+u) plus STATUSMSG: listeners post to `@#chan`, ops only. */
  | 'plus-u'
  /** Neither: listeners see everything; their questions go to presenters as private messages. */
  | 'emulated';

export class ServerFeatures {
  /** undefined until the first registration tells (800 before 001 → IRCX). */
  ircx: boolean | undefined;
  version = '';
  statusmsg = '';
  /** Mode letters that take a parameter when set (lists, always, set-only) and when unset. */
  paramOnSet = 'beIklfjL';
  paramOnUnset = 'beIk';
  /** Membership prefix modes, e.g. `qaohv`, and their symbols `~&@%+`. */
  prefixModes = 'ov';
  prefixSymbols = '@+';
  /** Type D (flag) modes, where InspIRCd's auditorium `u` shows up. */
  flagModes = '';
  capsOffered: string[] = [];
  capsEnabled: string[] = [];
  private announced = false;

  learnIsupport(tokens: readonly string[]): void {
    for (const token of tokens) {
      const eq = token.indexOf('=');
      const key = eq === -1 ? token : token.slice(0, eq);
      const value = eq === -1 ? '' : token.slice(eq + 1);
      if (key === 'STATUSMSG') this.statusmsg = value;
      else if (key === 'PREFIX') {
        const match = /^\(([^)]*)\)(.*)$/.exec(value);
        if (match) {
          this.prefixModes = match[1]!;
          this.prefixSymbols = match[2]!;
        }
      } else if (key === 'CHANMODES') {
        const [a = '', b = '', c = '', d = ''] = value.split(',');
        this.paramOnSet = a + b + c;
        this.paramOnUnset = a + b;
        this.flagModes = d;
      }
    }
  }

  get auditoriumMode(): AuditoriumMode {
    if (this.ircx) return 'ircx';
    // +u means auditorium on InspIRCd only; elsewhere the letter means other things.
    if (/inspircd/i.test(this.version) && this.flagModes.includes('u') && this.statusmsg.includes('@')) return 'plus-u';
    return 'emulated';
  }

  /** Reports once per agent what the harness found and how it falls back. */
  announce(events: VuEvents): void {
    if (this.announced) return;
    this.announced = true;
    const mode = this.auditoriumMode;
    events.note('irc:server', `server ${this.version || '(version not given)'}; IRCX ${this.ircx ? 'offered and used' : 'not offered'}`);
    events.note(
      'irc:auditorium',
      mode === 'ircx'
        ? 'auditorium channels: IRCX CREATE +x (the server routes listener messages to hosts)'
        : mode === 'plus-u'
          ? "auditorium channels: IRCX not offered; fell back to InspIRCd's auditorium mode +u, listeners post to @#channel (STATUSMSG) so only presenters receive"
          : 'auditorium channels: neither IRCX nor an auditorium mode is offered; emulated by the clients (listeners see all joins and send questions to presenters as private messages)',
    );
    if (this.capsEnabled.length > 0) events.note('irc:caps', `IRCv3 capabilities enabled: ${this.capsEnabled.join(' ')}`);
  }
}
