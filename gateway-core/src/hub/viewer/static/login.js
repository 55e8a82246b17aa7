// Sign-in: POST /login as JSON (the hub refuses form posts: a JSON body cannot be sent cross-site without CORS).
const form = document.getElementById('login');
const message = document.getElementById('message');
const submit = document.getElementById('submit');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  message.textContent = '';
  submit.disabled = true;
  try {
    const res = await fetch('/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: form.name.value, password: form.password.value }),
      credentials: 'same-origin',
    });
    if (res.ok) {
      // Keep a deep link (`#camera=…`, see app.js) across the sign-in; only the fragment, the path stays '/'.
      location.assign(`/${location.hash}`);
      return;
    }
    let text = 'Sign-in failed.';
    try {
      text = (await res.json()).error || text;
    } catch {
      // not JSON: keep the generic sentence
    }
    message.textContent = text;
  } catch {
    message.textContent = 'The hub could not be reached. Check your connection and try again.';
  } finally {
    submit.disabled = false;
  }
});
