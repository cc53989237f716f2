// Every method of Bento's official Node SDK 2.0 against the emulator, each
// with the arguments its README and types document. Prints one JSON line:
// {"passed": [...], "failed": [{"method", "error"}]}. Run by node_sdk.rs.
import { Analytics } from '@bentonow/bento-node-sdk';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const bento = new Analytics({
  authentication: {
    publishableKey: env('BENTO_PUBLISHABLE_KEY'),
    secretKey: env('BENTO_SECRET_KEY'),
  },
  siteUuid: env('BENTO_SITE_UUID'),
  clientOptions: { baseUrl: env('BENTO_BASE_URL'), timeout: 10000 },
  logErrors: false,
});
const V1 = bento.V1;
const sender = 'news@acme.test';

const calls = [
  ['V1.track', () => V1.track({ email: 'ada@example.com', type: '$login', details: { via: 'sdk' } })],
  ['V1.tagSubscriber', () => V1.tagSubscriber({ email: 'ada@example.com', tagName: 'customer' })],
  ['V1.addSubscriber', () => V1.addSubscriber({ email: 'bob@example.com', fields: { firstName: 'Bob' } })],
  ['V1.removeSubscriber', () => V1.removeSubscriber({ email: 'bob@example.com' })],
  ['V1.updateFields', () => V1.updateFields({ email: 'ada@example.com', fields: { plan: 'pro' } })],
  ['V1.trackPurchase', () => V1.trackPurchase({
    email: 'ada@example.com',
    purchaseDetails: { unique: { key: 'order-1' }, value: { amount: 9999, currency: 'USD' } },
  })],
  ['V1.upsertSubscriber', () => V1.upsertSubscriber({ email: 'cy@example.com', fields: { company: 'Acme' }, tags: 'lead' })],
  ['Batch.importSubscribers', () => V1.Batch.importSubscribers({ subscribers: [{ email: 'dee@example.com', firstName: 'Dee' }] })],
  ['Batch.importEvents', () => V1.Batch.importEvents({ events: [{ email: 'ada@example.com', type: '$pageView', details: { url: '/home' } }] })],
  ['Batch.sendTransactionalEmails', () => V1.Batch.sendTransactionalEmails({
    emails: [{ to: 'ada@example.com', from: sender, subject: 'Hi', html_body: '<p>Hi</p>', transactional: true }],
  })],
  ['Broadcasts.createEmails', () => V1.Broadcasts.createEmails([
    { to: 'ada@example.com', from: sender, subject: 'Hi', html_body: '<p>Hi</p>', transactional: true },
  ])],
  ['Broadcasts.createBroadcast', () => V1.Broadcasts.createBroadcast([{
    name: 'Launch', subject: 'Live', content: '<p>Hello</p>', type: 'plain',
    from: { name: 'Acme', email: sender }, batch_size_per_hour: 1000,
  }])],
  ['Broadcasts.getBroadcasts', () => V1.Broadcasts.getBroadcasts()],
  ['Commands.addTag', () => V1.Commands.addTag({ email: 'ada@example.com', tagName: 'vip' })],
  ['Commands.removeTag', () => V1.Commands.removeTag({ email: 'ada@example.com', tagName: 'vip' })],
  ['Commands.addField', () => V1.Commands.addField({ email: 'ada@example.com', field: { key: 'seats', value: 3 } })],
  ['Commands.removeField', () => V1.Commands.removeField({ email: 'ada@example.com', fieldName: 'seats' })],
  ['Commands.subscribe', () => V1.Commands.subscribe({ email: 'ada@example.com' })],
  ['Commands.unsubscribe', () => V1.Commands.unsubscribe({ email: 'ada@example.com' })],
  ['Commands.changeEmail', () => V1.Commands.changeEmail({ oldEmail: 'dee@example.com', newEmail: 'dee2@example.com' })],
  ['EmailTemplates.getEmailTemplate', async () => {
    const sequences = await V1.Sequences.getSequences();
    const id = Number(sequences[0].attributes.email_templates[0].id);
    return V1.EmailTemplates.getEmailTemplate({ id });
  }],
  ['EmailTemplates.updateEmailTemplate', async () => {
    const sequences = await V1.Sequences.getSequences();
    const id = Number(sequences[0].attributes.email_templates[0].id);
    return V1.EmailTemplates.updateEmailTemplate({ id, subject: 'Updated' });
  }],
  ['Experimental.validateEmail', () => V1.Experimental.validateEmail({ email: 'ada@example.com', name: 'Ada' })],
  ['Experimental.guessGender', () => V1.Experimental.guessGender({ name: 'Ada' })],
  ['Experimental.geolocate', () => V1.Experimental.geolocate({ ip: '8.8.8.8' })],
  ['Experimental.checkBlacklist', () => V1.Experimental.checkBlacklist({ domain: 'example.com' })],
  ['Experimental.getBlacklistStatus', () => V1.Experimental.getBlacklistStatus({ domain: 'example.com' })],
  ['Experimental.getContentModeration', () => V1.Experimental.getContentModeration('Hello there')],
  ['Experimental.geoLocateIP', () => V1.Experimental.geoLocateIP('8.8.8.8')],
  ['Fields.getFields', () => V1.Fields.getFields()],
  ['Fields.createField', () => V1.Fields.createField({ key: 'company' })],
  ['Forms.getResponses', () => V1.Forms.getResponses('contact')],
  ['Sequences.getSequences', () => V1.Sequences.getSequences()],
  ['Sequences.createSequenceEmail', async () => {
    const sequences = await V1.Sequences.getSequences();
    return V1.Sequences.createSequenceEmail(sequences[0].id, { subject: 'Day 3', html: '<p>Tips</p>' });
  }],
  ['Stats.getSiteStats', () => V1.Stats.getSiteStats()],
  ['Stats.getSegmentStats', () => V1.Stats.getSegmentStats('1')],
  ['Stats.getReportStats', () => V1.Stats.getReportStats('rep_1')],
  ['Stats.getAdsStats', () => V1.Stats.getAdsStats({ dimension: 'source', startDate: 'last week', endDate: 'now' })],
  ['Subscribers.getSubscribers', () => V1.Subscribers.getSubscribers({ email: 'ada@example.com' })],
  ['Subscribers.createSubscriber', () => V1.Subscribers.createSubscriber({ email: 'eve@example.com' })],
  ['Tags.getTags', () => V1.Tags.getTags()],
  ['Tags.createTag', () => V1.Tags.createTag({ name: 'beta' })],
  ['Tags.deleteTag', async () => {
    const tags = await V1.Tags.getTags();
    const beta = tags.find((tag) => tag.attributes.name === 'beta');
    return V1.Tags.deleteTag(beta.id, { name: 'beta' });
  }],
  ['Workflows.getWorkflows', () => V1.Workflows.getWorkflows()],
];

const passed = [];
const failed = [];
for (const [method, call] of calls) {
  try {
    await call();
    passed.push(method);
  } catch (error) {
    failed.push({ method, error: String(error && error.message ? error.message : error) });
  }
}
console.log(JSON.stringify({ passed, failed }));
