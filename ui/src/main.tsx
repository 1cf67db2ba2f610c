// Mounts the window. Everything else starts in app.tsx.
import { render } from "preact";
import { App } from "./app";
import "./styles.css";

render(<App />, document.getElementById("app")!);
