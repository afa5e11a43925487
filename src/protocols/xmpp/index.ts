/** The XMPP protocol module: RFC 6120/6121 clients with MUC rooms (XEP-0045) as channels. */
import type { AgentTarget, ProtocolAgent, ProtocolModule, VuEvents, VuIdentity } from '../types.js';
import { xmppSettings, type XmppSettings } from './options.js';
import { XmppUser } from './user.js';

class XmppAgent implements ProtocolAgent {
  readonly capabilities = { channels: true, presence: true, instantMessages: true };
  private readonly settings: XmppSettings;

  constructor(private readonly target: AgentTarget) {
    this.settings = xmppSettings(target.domain ?? target.host, target.options);
  }

  createUser(identity: VuIdentity, events: VuEvents): XmppUser {
    return new XmppUser(this.target, identity, events, this.settings);
  }

  /** The server's own count of users with a bound resource: Prosody through `prosodyctl shell`, ejabberd through `ejabberdctl`. */
  async serverOnlineCount(): Promise<number | undefined> {
    if (this.settings.prosodyConfig) return (await import('./lab-prosody.js')).prosodyOnlineCount(this.settings.prosodyConfig);
    if (this.settings.ejabberdctl) return (await import('./server-count.js')).ejabberdOnlineCount(this.settings.ejabberdctl, this.target.options);
    return undefined;
  }

  async close(): Promise<void> {}
}

const module = {
  protocol: 'xmpp',
  async createAgent(target: AgentTarget) {
    return new XmppAgent(target);
  },
};

export const xmppProtocol: ProtocolModule = module;
