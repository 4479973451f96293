// Drives a runtime with deployed scripts and a worker through Nango's Node client: connections,
// actions (an output, an ActionError), sync trigger/status/pause/start, records with filters.
// Prints one JSON object of what it saw. argv: <path of @nangohq/node>; env: RUNTIME_URL, RUNTIME_KEY
const { Nango } = require(process.argv[2]);

const nango = new Nango({ host: process.env.RUNTIME_URL, secretKey: process.env.RUNTIME_KEY });
const out = {};

async function failure(promise) {
    try {
        await promise;
        return null;
    } catch (err) {
        return { status: err.response && err.response.status, data: err.response && err.response.data };
    }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForStatus(predicate) {
    for (let i = 0; i < 240; i++) {
        const { syncs } = await nango.syncStatus('github', ['issues'], 'acme');
        if (predicate(syncs[0])) {
            return syncs[0];
        }
        await sleep(500);
    }
    throw new Error('sync status never matched');
}

async function main() {
    out.connections = (await nango.listConnections()).connections.map((c) => [c.connection_id, c.provider_config_key]);
    const connection = await nango.getConnection('github', 'acme');
    out.connection = { id: connection.connection_id, metadata: connection.metadata, token: connection.credentials.access_token };
    out.token = await nango.getToken('github', 'acme');

    out.action = await nango.triggerAction('github', 'acme', 'create-issue', { owner: 'acme', repo: 'app', title: 'Hi' });
    out.actionError = await failure(nango.triggerAction('github', 'acme', 'create-issue', { owner: 'acme', repo: 'app', title: ' ' }));
    out.unknownAction = await failure(nango.triggerAction('github', 'acme', 'nope', {}));

    await nango.triggerSync('github', ['issues'], 'acme');
    const done = await waitForStatus((s) => s.status === 'SUCCESS' && s.latestResult && s.latestResult.GithubIssue.updated === 1);
    out.status = { type: done.type, recordCount: done.recordCount, latestResult: done.latestResult, frequency: done.frequency };
    const base = { providerConfigKey: 'github', connectionId: 'acme', model: 'GithubIssue' };
    out.updated = (await nango.listRecords({ ...base, filter: 'updated' })).records.map((r) => r.id);
    out.added = (await nango.listRecords({ ...base, filter: 'added' })).records.map((r) => r.id).sort();

    await nango.pauseSync('github', ['issues'], 'acme');
    out.paused = (await nango.syncStatus('github', ['issues'], 'acme')).syncs[0].status;
    await nango.startSync('github', ['issues'], 'acme');
    out.started = (await nango.syncStatus('github', ['issues'], 'acme')).syncs[0].status;
    out.badSync = await failure(nango.triggerSync('github', ['nope'], 'acme'));

    await nango.deleteConnection('github', 'acme');
    out.afterDelete = (await nango.listConnections()).connections.length;
}

main().then(
    () => process.stdout.write(JSON.stringify(out)),
    (err) => {
        process.stderr.write(String((err && err.stack) || err) + '\n' + JSON.stringify(err && err.response && err.response.data));
        process.exit(1);
    }
);
