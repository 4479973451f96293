// Drives the runtime through Nango's Node client; prints one JSON object of what it saw.
// argv: <path of @nangohq/node> ; env: RUNTIME_URL, RUNTIME_KEY
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

async function main() {
    const base = { providerConfigKey: 'github', connectionId: 'acme', model: 'Issue' };
    const pages = [];
    let cursor = null;
    do {
        const page = await nango.listRecords({ ...base, limit: 2, ...(cursor ? { cursor } : {}) });
        pages.push(page.records.map((r) => r.id));
        cursor = page.next_cursor;
    } while (cursor);
    out.pages = pages;
    out.deleted = (await nango.listRecords({ ...base, filter: 'deleted' })).records.map((r) => r.id);
    out.byIds = (await nango.listRecords({ ...base, ids: ['3', '1'] })).records.map((r) => r.id);
    out.since = (await nango.listRecords({ ...base, modifiedAfter: new Date(Date.now() + 3600e3).toISOString() })).records.length;
    out.unknownConnection = await failure(nango.listRecords({ ...base, connectionId: 'ghost' }));

    const created = await nango.createIntegration({
        provider: 'github',
        unique_key: 'gh2',
        display_name: 'Second',
        credentials: { type: 'OAUTH2', client_id: 'cid', client_secret: 'csecret', scopes: 'repo,user' }
    });
    out.created = created.data;
    out.listed = (await nango.listIntegrations()).configs.map((i) => i.unique_key);
    out.withCredentials = (await nango.getIntegration({ uniqueKey: 'gh2' }, { include: ['credentials'] })).data.credentials;
    out.updated = (await nango.updateIntegration({ uniqueKey: 'gh2' }, { display_name: 'Renamed' })).data.display_name;
    out.deletedIntegration = (await nango.deleteIntegration('gh2')).data;
    out.missingIntegration = await failure(nango.getIntegration({ uniqueKey: 'gh2' }));
    out.duplicate = await failure(nango.createIntegration({ provider: 'github', unique_key: 'github', credentials: { type: 'OAUTH2', client_id: 'a', client_secret: 'b' } }));

    out.variables = await nango.getEnvironmentVariables();

    const set = await nango.setMetadata('github', 'acme', { plan: 'pro', seats: 3 });
    out.setMetadata = { status: set.status, data: set.data };
    const update = await nango.updateMetadata('github', ['acme'], { seats: 5 });
    out.updateMetadata = { status: update.status, data: update.data };
    out.metadataMissing = await failure(nango.setMetadata('github', 'ghost', {}));

    const proxied = await nango.proxy({
        method: 'POST',
        endpoint: '/repos/acme/issues',
        providerConfigKey: 'github',
        connectionId: 'acme',
        params: { state: 'open' },
        headers: { 'X-Trace': 'node' },
        data: { title: 'from node' },
        retries: 1
    });
    out.proxy = { status: proxied.status, data: proxied.data };
    out.proxyGet = (await nango.get({ endpoint: '/user', providerConfigKey: 'github', connectionId: 'acme' })).data;
    out.proxyError = await failure(nango.get({ endpoint: '/missing', providerConfigKey: 'github', connectionId: 'acme' }));
    out.proxyDenied = await failure(nango.get({ endpoint: '/x', baseUrlOverride: 'http://localhost:1', providerConfigKey: 'github', connectionId: 'acme' }));
    out.badKey = await failure(new Nango({ host: process.env.RUNTIME_URL, secretKey: '00000000-0000-4000-8000-000000000000' }).listIntegrations());

    // Async actions: queued (no worker here), so the result is not there yet.
    out.asyncAction = await nango.triggerActionAsync('github', 'acme', 'create-issue', { title: 'later' });
    out.asyncPending = await failure(nango.getAsyncActionResult(out.asyncAction));
}

main().then(
    () => process.stdout.write(JSON.stringify(out)),
    (err) => {
        process.stderr.write(String((err && err.stack) || err) + '\n' + JSON.stringify(err && err.response && err.response.data));
        process.exit(1);
    }
);
