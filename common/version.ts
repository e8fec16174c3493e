// Bumped when a message or RPC changes incompatibly; the CLI refuses to talk to a daemon whose
// protocol it does not know, instead of misreading its answers.
export const PROTOCOL_VERSION = 1;
export const RBK_VERSION = '0.1.0';
