// The storefront: browse, search, sign in with a dev token, cart, order, order status.
// Plain DOM, no framework: one small module the edge caches forever under its hashed name.

interface Product {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly imageUrl: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly stock: number;
  readonly inStock: boolean;
}
interface Category {
  readonly slug: string;
  readonly name: string;
}
interface CartView {
  readonly items: readonly {
    readonly productId: string;
    readonly quantity: number;
    readonly product?: Product;
    readonly lineTotalCents?: number;
  }[];
  readonly subtotalCents?: number;
  readonly currency: string;
  readonly degraded: boolean;
}
interface Order {
  readonly id: string;
  readonly status: string;
  readonly totalCents: number;
  readonly currency: string;
  readonly createdAt: string;
}
interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail?: string;
  readonly code?: string;
}

class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

const session = {
  get token(): string | null {
    return localStorage.getItem('mela.token');
  },
  get userId(): string | null {
    return localStorage.getItem('mela.user');
  },
  save(userId: string, token: string): void {
    localStorage.setItem('mela.user', userId);
    localStorage.setItem('mela.token', token);
  },
  clear(): void {
    localStorage.removeItem('mela.user');
    localStorage.removeItem('mela.token');
  },
};

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found;
}

/** Builds an element; text goes in as text, never as markup. */
function h(
  tag: string,
  attributes: Readonly<Record<string, string>> = {},
  ...children: readonly (Node | string)[]
): HTMLElement {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function money(cents: number, currency: string): string {
  return new Intl.NumberFormat('en-IN', { style: 'currency', currency }).format(cents / 100);
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('accept', 'application/json');
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  if (session.token !== null) headers.set('authorization', `Bearer ${session.token}`);
  const response = await fetch(path, { ...init, headers });
  if (!response.ok) {
    const problem = (await response.json().catch(() => undefined)) as Problem | undefined;
    throw new ApiError(problem ?? { status: response.status, title: response.statusText });
  }
  return (await response.json()) as T;
}

function notify(message: string, kind: 'info' | 'error' = 'info'): void {
  const notice = element('notice');
  notice.textContent = message;
  notice.className = kind;
  notice.hidden = false;
}

function failed(error: unknown): void {
  if (error instanceof ApiError && error.problem.status === 401) {
    session.clear();
    showSession();
    notify('Please sign in first.', 'error');
    return;
  }
  notify(error instanceof Error ? error.message : String(error), 'error');
}

function productCard(product: Product): HTMLElement {
  const add = h('button', { type: 'button', 'data-product': product.id }, 'Add to cart');
  if (!product.inStock) {
    add.setAttribute('disabled', '');
    add.textContent = 'Sold out';
  }
  add.addEventListener('click', () => {
    addToCart(product).catch(failed);
  });
  return h(
    'li',
    { class: 'card', 'data-testid': 'product' },
    h('img', { src: product.imageUrl, alt: product.name, width: '160', height: '160' }),
    h('span', { class: 'name' }, product.name),
    h('span', { class: 'price' }, money(product.priceCents, product.currency)),
    h(
      'span',
      { class: 'muted' },
      product.inStock ? `${String(product.stock)} in stock` : 'sold out',
    ),
    add,
  );
}

function showProducts(heading: string, products: readonly Product[]): void {
  element('heading').textContent = heading;
  const list = element('products');
  list.replaceChildren(...products.map(productCard));
  if (products.length === 0) list.append(h('li', { class: 'muted' }, 'Nothing found.'));
}

async function showHome(): Promise<void> {
  const home = await api<{ featured: Product[]; bestsellers: Product[] }>('/api/catalog/home');
  const unique = new Map([...home.featured, ...home.bestsellers].map((p) => [p.id, p]));
  showProducts('Featured', [...unique.values()].slice(0, 24));
}

async function showCategories(): Promise<void> {
  const { items } = await api<{ items: Category[] }>('/api/catalog/categories');
  element('categories').replaceChildren(
    ...items.map((category) => {
      const button = h('button', { type: 'button', class: 'quiet' }, category.name);
      button.addEventListener('click', () => {
        api<{ items: Product[] }>(
          `/api/catalog/products?category=${encodeURIComponent(category.slug)}&limit=24`,
        )
          .then((page) => {
            showProducts(category.name, page.items);
          })
          .catch(failed);
      });
      return button;
    }),
  );
}

async function search(q: string): Promise<void> {
  const page = await api<{ items: Product[] }>(
    `/api/catalog/products?q=${encodeURIComponent(q)}&limit=24`,
  );
  showProducts(`Results for “${q}”`, page.items);
}

function showCart(cart: CartView): void {
  const lines = cart.items.map((line) =>
    h(
      'li',
      { 'data-testid': 'cart-line' },
      `${line.product?.name ?? `Product ${line.productId}`} × ${String(line.quantity)}`,
      line.lineTotalCents === undefined ? '' : ` — ${money(line.lineTotalCents, cart.currency)}`,
    ),
  );
  element('cart').replaceChildren(
    ...(lines.length > 0 ? lines : [h('li', { class: 'muted' }, 'Your cart is empty.')]),
  );
  element('subtotal').textContent =
    cart.subtotalCents === undefined || lines.length === 0
      ? ''
      : `Subtotal ${money(cart.subtotalCents, cart.currency)}`;
  element('place-order').toggleAttribute('disabled', lines.length === 0);
}

async function addToCart(product: Product): Promise<void> {
  if (session.token === null) {
    notify('Sign in to add to your cart.', 'error');
    return;
  }
  const cart = await api<CartView>('/api/cart/items', {
    method: 'POST',
    body: JSON.stringify({ productId: product.id, quantity: 1 }),
  });
  showCart(cart);
  notify(`${product.name} is in your cart.`);
}

async function showOrders(): Promise<void> {
  const { orders } = await api<{ orders: Order[] }>('/api/orders?limit=5');
  element('orders').replaceChildren(
    ...orders.map((order) =>
      h(
        'li',
        { 'data-testid': 'order' },
        `#${order.id} — ${order.status} — ${money(order.totalCents, order.currency)}`,
      ),
    ),
  );
}

/** One key per checkout attempt: a retry after a lost answer cannot order twice. */
let checkoutKey: string | undefined;

async function placeOrder(): Promise<void> {
  checkoutKey ??= crypto.randomUUID();
  const order = await api<Order>('/api/orders', {
    method: 'POST',
    headers: { 'idempotency-key': checkoutKey },
    body: JSON.stringify({ paymentMethod: 'upi' }),
  });
  checkoutKey = undefined;
  element('order-status').textContent = `Order #${order.id} is ${order.status}.`;
  notify(`Thank you! Order #${order.id} is ${order.status}.`);
  await Promise.all([api<CartView>('/api/cart').then(showCart), showOrders()]);
}

function showSession(): void {
  const userId = session.userId;
  element('sign-in').hidden = userId !== null;
  element('signed-in').hidden = userId === null;
  element('who').textContent = userId === null ? '' : `Signed in as ${userId}`;
  if (userId === null) {
    element('cart').replaceChildren(h('li', { class: 'muted' }, 'Sign in to shop.'));
    element('orders').replaceChildren();
    element('subtotal').textContent = '';
    element('place-order').toggleAttribute('disabled', true);
  }
}

async function signIn(userId: string): Promise<void> {
  const { token } = await api<{ token: string }>('/api/auth/dev-token', {
    method: 'POST',
    body: JSON.stringify({ userId }),
  });
  session.save(userId, token);
  showSession();
  await Promise.all([api<CartView>('/api/cart').then(showCart), showOrders()]);
}

function start(): void {
  element('search').addEventListener('submit', (event) => {
    event.preventDefault();
    const q = new FormData(event.currentTarget as HTMLFormElement).get('q');
    if (typeof q === 'string' && q.trim().length >= 2) search(q.trim()).catch(failed);
  });
  element('sign-in').addEventListener('submit', (event) => {
    event.preventDefault();
    const userId = new FormData(event.currentTarget as HTMLFormElement).get('userId');
    if (typeof userId === 'string') signIn(userId.trim()).catch(failed);
  });
  element('sign-out').addEventListener('click', () => {
    session.clear();
    showSession();
  });
  element('place-order').addEventListener('click', () => {
    placeOrder().catch(failed);
  });
  showSession();
  const loads: Promise<unknown>[] = [showHome(), showCategories()];
  if (session.token !== null) loads.push(api<CartView>('/api/cart').then(showCart), showOrders());
  Promise.all(loads).catch(failed);
}

start();
