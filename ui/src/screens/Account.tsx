// My account: who I am, my signed-in devices (ending another one's sign-in
// needs my password, and that device keeps nothing readable), my password,
// and signing out everywhere (a lost laptop). Online only: the server keeps
// all of it; offline the screen says so.

import { useState } from "preact/hooks";
import { call, toReport } from "../api";
import { commands, type DeviceSession_Serialize } from "../bindings";
import { describedBy, Field } from "../components/Field";
import { Form } from "../components/Form";
import { LoadingNote } from "../components/LoadingNote";
import { useApp } from "../context";
import { formatDateTime, formatFull } from "../datetime";
import { deviceLabel, repeatMismatch } from "../account";
import { useCheck, useLoad, useNow } from "../hooks";
import { humanize } from "../labels";
import { reportSentence } from "../sentences";

export function Account() {
  const { session, openDialog, closeDialog, signOut } = useApp();
  const devices = useLoad(() => commands.myDevices(), [], { keep: true, onError: () => true });
  const account = session.account;

  function endDevice(device: DeviceSession_Serialize) {
    openDialog({
      kind: "password",
      id: "revoke-device-dialog",
      title: `Sign out ${deviceLabel(device)}?`,
      text: "That device stops syncing at once and removes your data from it; work it had not sent is saved there in a file. Confirm with your password.",
      action: "Sign it out",
      run: async (password) => {
        await call(commands.revokeDevice(device.id, password));
        closeDialog();
        devices.reload();
      },
    });
  }

  function everywhere() {
    openDialog({
      kind: "password",
      id: "sign-out-everywhere-dialog",
      title: "Sign out everywhere?",
      text: "Every device signed in as you, this one included, is signed out; the others remove your data. Use it when a device is lost. Confirm with your password.",
      action: "Sign out everywhere",
      run: async (password) => {
        await call(commands.signOutEverywhere(password));
        closeDialog();
        signOut();
      },
    });
  }

  return (
    <section id="account" class="screen" data-loaded={devices.loaded ? "true" : undefined}>
      <header class="screen-header">
        <h1>My account</h1>
      </header>
      <p>
        <strong>{account.full_name || account.email}</strong> · {account.email} · {humanize(account.role)} · on {session.server}
      </p>
      <section class="panel" id="devices" aria-labelledby="devices-heading">
        <div class="panel-title-row">
          <h2 id="devices-heading">Signed-in devices</h2>
          <button id="sign-out-everywhere" type="button" class="button danger small" onClick={everywhere}>
            Sign out everywhere
          </button>
        </div>
        {!devices.data && <LoadingNote error={devices.error} />}
        {devices.data && <DeviceList devices={devices.data} onEnd={endDevice} />}
      </section>
      <PasswordPanel />
    </section>
  );
}

/** Devices signed in now; `onEnd` ends one (none for the one asking). */
export function DeviceList({ devices, onEnd }: { devices: DeviceSession_Serialize[]; onEnd: (device: DeviceSession_Serialize) => void }) {
  const now = useNow(60_000);
  if (devices.length === 0) return <p class="muted small">No device is signed in.</p>;
  return (
    <table class="table device-list">
      <thead>
        <tr>
          <th scope="col">Device</th>
          <th scope="col">Last seen</th>
          <th scope="col">Signed in</th>
          <th scope="col">
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {devices.map((device) => (
          <tr key={device.id} class="device-row" data-id={device.id} data-current={device.current ? "true" : undefined}>
            <td>
              <span class="strong">{deviceLabel(device)}</span>
              {device.current && <span class="pill device-current"> This device</span>}
            </td>
            <td class="muted small" title={formatFull(device.last_seen_at)}>
              {formatDateTime(device.last_seen_at, now)}
              {device.last_address && ` · ${device.last_address}`}
            </td>
            <td class="muted small" title={`Until ${formatFull(device.expires_at)} at the latest`}>
              {formatDateTime(device.created_at, now)}
            </td>
            <td class="row-actions">
              {!device.current && (
                <button type="button" class="button small" data-action="revoke" onClick={() => onEnd(device)}>
                  Sign out
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PasswordPanel() {
  const [current, setCurrent] = useState("");
  const [fresh, setFresh] = useState("");
  const [repeated, setRepeated] = useState("");
  const [saving, setSaving] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const checked = useCheck(fresh, (password) => (password ? call(commands.checkNewPassword(password)) : Promise.resolve([])));
  const messages = fresh ? checked : {};
  const mismatch = repeatMismatch(fresh, repeated);

  async function save() {
    if (saving) return;
    if (!current || !fresh || fresh !== repeated) {
      setError(mismatch ?? "Enter your current password and the new one twice.");
      return;
    }
    setSaving(true);
    setError(null);
    try {
      await call(commands.changePassword(current, fresh));
      setDone(true);
      setCurrent("");
      setFresh("");
      setRepeated("");
    } catch (failure) {
      setError(reportSentence(toReport(failure)));
    } finally {
      setSaving(false);
    }
  }

  return (
    <section class="panel" id="password" aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <Form class="form compact" onSubmit={save} aria-label="Change password">
        <Field id="password-current" label="Current password" field="current_password">
          <input id="password-current" type="password" autocomplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        </Field>
        <div class="field-row">
          <Field id="password-new" label="New password" field="password" messages={messages} hint="A phrase of a few unrelated words is strong and easy to type.">
            <input
              id="password-new"
              type="password"
              autocomplete="new-password"
              value={fresh}
              {...describedBy("password-new", messages, "password")}
              onInput={(e) => {
                setFresh(e.currentTarget.value);
                setDone(false);
              }}
            />
          </Field>
          <Field id="password-repeat" label="New password again" field="repeat" messages={mismatch ? { repeat: mismatch } : {}}>
            <input id="password-repeat" type="password" autocomplete="new-password" value={repeated} onInput={(e) => setRepeated(e.currentTarget.value)} />
          </Field>
        </div>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        {done && (
          <p id="password-changed" class="muted" role="status">
            Password changed. Your other devices will ask you to sign in again; they keep their data.
          </p>
        )}
        <div class="form-actions">
          <button id="password-save" type="submit" class="button primary" disabled={saving}>
            {saving ? "Changing…" : "Change password"}
          </button>
        </div>
      </Form>
    </section>
  );
}
