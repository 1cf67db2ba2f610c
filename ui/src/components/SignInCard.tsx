// The card the app shows before any data: signing in, the passphrase of
// this computer's copy, the password past the offline grace period. One
// frame, so the three look and behave alike (a form: Enter submits).

import type { ComponentChildren } from "preact";
import { Form } from "./Form";

interface SignInCardProps {
  label: string;
  onSubmit: () => void;
  children: ComponentChildren;
}

export function SignInCard({ label, onSubmit, children }: SignInCardProps) {
  return (
    <main class="sign-in" data-loaded="true">
      <Form class="sign-in-card" onSubmit={onSubmit} aria-label={label}>
        <div class="brand large">
          <span class="brand-mark" aria-hidden="true">F</span> Field CRM
        </div>
        {children}
      </Form>
    </main>
  );
}
