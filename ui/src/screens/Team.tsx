// The team (admins): every account, with its role, last sign-in, devices
// and state; deactivate one (its devices are signed out at once and keep
// nothing readable, its integration tokens stop; what it wrote stays) or
// reactivate it; make a one-time password reset code to hand over (there
// is no email); see and sign out anyone's devices. Online only.

import { useState } from "preact/hooks";
import { attempt, call } from "../api";
import { commands, type AccountSummary_Serialize, type DeviceSession_Serialize, type UserRole } from "../bindings";
import { LoadingNote } from "../components/LoadingNote";
import { useApp } from "../context";
import { formatDateTime, formatFull } from "../datetime";
import { accountState, deviceLabel, teamOrder } from "../account";
import { useLoad, useNow } from "../hooks";
import { humanize, plural } from "../labels";
import { DeviceList } from "./Account";

export function Team() {
  const { session, openDialog } = useApp();
  const admin = session.account.role === "admin";
  const accounts = useLoad(() => commands.team(), [], { keep: true, onError: () => true });
  const [open, setOpen] = useState<string | null>(null);

  if (!admin) {
    return (
      <section id="team" class="screen" data-loaded="true">
        <header class="screen-header">
          <h1>Team</h1>
        </header>
        <p class="muted">Only admins manage the team's accounts.</p>
      </section>
    );
  }
  const list = accounts.data ? teamOrder(accounts.data) : null;
  return (
    <section id="team" class="screen" data-loaded={accounts.loaded ? "true" : undefined}>
      <header class="screen-header">
        <h1>Team</h1>
        <button id="add-colleague" type="button" class="button primary" onClick={() => openDialog({ kind: "add-colleague", added: accounts.reload })}>
          Add a colleague
        </button>
      </header>
      <p class="muted">
        A new colleague gets a one-time code from you to set their password with. Deactivating someone signs their devices out at once and
        removes the team's data from them; what they wrote stays.
      </p>
      {!list && <LoadingNote error={accounts.error} />}
      {list && (
        <ul class="webhook-list" id="team-list">
          {list.map((account) => (
            <AccountItem
              key={account.id}
              account={account}
              me={account.id === session.account.id}
              open={open === account.id}
              onToggle={() => setOpen(open === account.id ? null : account.id)}
              reload={accounts.reload}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

interface AccountItemProps {
  account: AccountSummary_Serialize;
  me: boolean;
  open: boolean;
  onToggle: () => void;
  reload: () => void;
}

function AccountItem({ account, me, open, onToggle, reload }: AccountItemProps) {
  const { openDialog, closeDialog } = useApp();
  const now = useNow(60_000);
  const state = accountState(account);
  const name = account.full_name || account.email;

  function setActive(active: boolean) {
    openDialog({
      kind: "confirm",
      id: active ? "reactivate-dialog" : "deactivate-dialog",
      title: active ? `Reactivate ${name}?` : `Deactivate ${name}?`,
      text: active
        ? `${name} can sign in again (every device signs in anew).`
        : `${name}'s devices are signed out at once and remove the team's data; their integration tokens stop. What they wrote stays, and you can reactivate them later.`,
      action: active ? "Reactivate" : "Deactivate",
      confirm: async () => {
        closeDialog();
        if (await attempt(commands.setAccountActive(account.id, active))) reload();
      },
    });
  }

  async function changeRole(role: UserRole) {
    if (role === account.role) return;
    if (await attempt(commands.setRole(account.id, role))) reload();
  }

  async function resetCode() {
    const code = await attempt(commands.makeResetCode(account.id));
    if (code) openDialog({ kind: "reset-code", name, email: account.email, code: code.code, expiresAt: code.expires_at });
  }

  return (
    <li class="webhook-item account-item" data-id={account.id} data-state={state}>
      <div class="webhook-head">
        <div class="grow">
          <div class="strong">
            {name}
            {me && <span class="muted"> (you)</span>}
          </div>
          <div class="muted small">
            {account.email} ·{" "}
            {me || state !== "active" ? (
              <span class={`pill role-${account.role}`}>{humanize(account.role)}</span>
            ) : (
              <select
                class="inline-select"
                data-action="role"
                aria-label={`${name}'s role`}
                value={account.role}
                onChange={(e) => void changeRole(e.currentTarget.value as UserRole)}
              >
                <option value="agent">Agent</option>
                <option value="admin">Admin</option>
              </select>
            )}{" "}
            {state === "deactivated" ? (
              <span class="pill account-deactivated" title={formatFull(account.deactivated_at)}>
                Deactivated {formatDateTime(account.deactivated_at, now)}
              </span>
            ) : (
              <>
                · {plural(Number(account.active_sessions), "device")} signed in · last sign-in{" "}
                {account.last_sign_in_at ? formatDateTime(account.last_sign_in_at, now) : "never"}
              </>
            )}
          </div>
        </div>
        <div class="row-actions">
          {state === "active" && (
            <button type="button" class="button small" data-action="devices" aria-expanded={open} onClick={onToggle}>
              Devices
            </button>
          )}
          {state === "active" && (
            <button type="button" class="button small" data-action="reset-code" onClick={resetCode}>
              Reset code
            </button>
          )}
          {!me &&
            (state === "active" ? (
              <button type="button" class="button small danger" data-action="deactivate" onClick={() => setActive(false)}>
                Deactivate
              </button>
            ) : (
              <button type="button" class="button small" data-action="reactivate" onClick={() => setActive(true)}>
                Reactivate
              </button>
            ))}
        </div>
      </div>
      {open && <AccountDevices accountId={account.id} name={name} reload={reload} />}
    </li>
  );
}

function AccountDevices({ accountId, name, reload }: { accountId: string; name: string; reload: () => void }) {
  const { openDialog, closeDialog } = useApp();
  const devices = useLoad(() => commands.accountDevices(accountId), [accountId], { keep: true, onError: () => true });

  function end(device: DeviceSession_Serialize) {
    openDialog({
      kind: "confirm",
      id: "admin-revoke-device-dialog",
      title: `Sign out ${deviceLabel(device)}?`,
      text: `${name}'s device stops syncing at once and removes the team's data; work it had not sent is saved there in a file.`,
      action: "Sign it out",
      confirm: async () => {
        closeDialog();
        try {
          await call(commands.revokeDevice(device.id, null));
          devices.reload();
          reload();
        } catch {
          devices.reload();
        }
      },
    });
  }

  if (!devices.data) return <LoadingNote error={devices.error} />;
  return <DeviceList devices={devices.data} onEnd={end} />;
}
